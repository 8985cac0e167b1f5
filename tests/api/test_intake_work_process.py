"""HTTP in one process, the relay and projection in a `servicetrail work` process."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.contracts import intake as intake_contract
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
                intake_contract.registry.type_of_class(intake_contract.RequestReceived),
                intake_contract.registry.type_of_class(intake_contract.RequestTriaged)]
        finally:
            worker.terminate()
            assert worker.wait(15) == 0  # stops cleanly on SIGTERM


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(p) for p in listing.read().split()]


async def test_two_api_workers_share_a_port_and_the_background_work(settings_for, broker):
    import httpx

    from shared.runtime.embedded import free_port

    settings = settings_for("intake", IntakeSettings)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
           "KAFKA_IDEMPOTENCE": str(broker.idempotence).lower(), "DB_SCHEMA": settings.schema_name,
           "CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix, "RELAY_POLL_SECONDS": "0.05"}
    server = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", "intake", "--port", str(port),
                               "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200 and len(children(server.pid)) >= 2
                except httpx.HTTPError:
                    return False

            await until(ready, timeout=60)  # both workers migrated the one schema at once, without a clash
            customer = f"two-workers-{settings.schema_name}"
            ids = set()
            for n in range(12):
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as fresh:
                    response = await fresh.post("/v1/requests", json=request_body(
                        customer={"id": customer, "name": "Ada"}, title=f"Printer {n}"), headers=as_role(Role.agent))
                assert response.status_code == 201, response.text
                ids.add(response.json()["id"])

            async def projected_once() -> bool:
                page = await client.get("/v1/requests", params={"customer_id": customer, "limit": 100},
                                        headers=as_role(Role.agent))
                return sorted(r["id"] for r in page.json()["items"]) == sorted(ids)

            await until(projected_once, timeout=30)

            async def published_once() -> bool:
                keys = [r.key.decode() for r in await read_topic(broker.bootstrap, "intake.events", 1, timeout=5)
                        if r.key and r.key.decode() in ids]
                return sorted(keys) == sorted([*ids, *ids])  # RequestReceived and RequestTriaged, once each

            await until(published_once, timeout=30)
    finally:
        server.terminate()
        assert server.wait(20) == 0
