"""An event too large for the relay is refused with 413 before anything is recorded."""
from __future__ import annotations

import pytest

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from tests.api.conftest import request_body
from tests.support.app import as_role, serving

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.mark.parametrize("fast_lane", [True, False])
async def test_a_submit_whose_event_would_be_too_large_is_a_413_and_records_nothing(settings_for, db, fast_lane):
    settings = settings_for("intake", IntakeSettings, event_max_bytes=4_000, http_fast_lane=fast_lane)
    async with serving(bootstrap(settings)) as client:
        body = {**request_body(), "description": "x" * 5_000}  # within the field's bound, not the event's
        answer = await client.post("/v1/requests", json=body, headers=as_role(Role.agent))
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["errors"][0]["field"] and "4,000-byte limit" in answer.json()["detail"]
        async with db.connect() as conn:
            assert await conn.fetchval(f"SELECT count(*) FROM {settings.schema_name}.events") == 0
        assert (await client.post("/v1/requests", json=request_body(), headers=as_role(Role.agent))).status_code == 201
