"""HTTP in one process, the relay and projection in a `servicetrail work` process."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from tests.api.conftest import request_body
from tests.conftest import ROOT
from tests.support.app import as_role, serving
from tests.support.kafka import header, read_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_a_separate_work_process_publishes_and_projects_what_the_api_records(settings_for, broker):
    settings = settings_for("intake", IntakeSettings, background_work=False)
    env = {**os.environ, "DATABASE_URL": settings.database_url, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
           "KAFKA_IDEMPOTENCE": str(broker.idempotence).lower(), "DB_SCHEMA": settings.schema_name,
           "CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix, "RELAY_POLL_SECONDS": "0.05"}
    async with serving(bootstrap(settings)) as client:
        worker = subprocess.Popen([sys.executable, "-m", "shared.cli", "work", "intake"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            body = request_body()
            created = (await client.post("/v1/requests", json=body, headers=as_role(Role.agent))).json()

            async def listed() -> bool:
                page = await client.get("/v1/requests", params={"customer_id": body["customer"]["id"]},
                                        headers=as_role(Role.agent))
                return [r["id"] for r in page.json()["items"]] == [created["id"]]

            await until(listed, timeout=30)
            records: list = []

            async def published() -> bool:
                records[:] = [r for r in await read_topic(broker.bootstrap, "intake.events", 1, timeout=5)
                              if r.key == created["id"].encode()]
                return len(records) >= 2

            await until(published, timeout=30)
            assert [header(r, "ce_type") for r in records][:2] == [
                "servicetrail.intake.RequestReceived.v1", "servicetrail.intake.RequestTriaged.v1"]
        finally:
            worker.terminate()
            assert worker.wait(15) == 0  # stops cleanly on SIGTERM
