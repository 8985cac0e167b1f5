"""Intake while its database is down and once it is back: 503 problem+json with Retry-After (never
500), readiness saying so, and the very first request after the restart answered normally.

Each test runs the real app on an embedded PostgreSQL of its own (stopped and started here; the
suite's shared server is never touched) and the suite's broker.
"""
from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from typing import AsyncIterator

import httpx
import pytest

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.clock import FrozenClock
from shared.eventstore import EventStore
from shared.runtime.embedded import EmbeddedPostgres
from tests.api.conftest import MONDAY_10, IntakeApi
from tests.conftest import ROOT
from tests.support.app import serving

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@contextlib.asynccontextmanager
async def intake_on_own_postgres(settings_for, **overrides: object) -> AsyncIterator[tuple[IntakeApi, EmbeddedPostgres]]:  # noqa: ANN001
    server = EmbeddedPostgres(ROOT / "var" / f"outage-api-pg-{uuid.uuid4().hex[:6]}")
    # Stopped and started off the event loop, which meanwhile sees the connections close, as a
    # running service does.
    url = await asyncio.to_thread(server.start)
    try:
        settings = settings_for("intake", IntakeSettings, database_url=url, **overrides)
        clock = FrozenClock(MONDAY_10)
        async with serving(bootstrap(settings, clock=clock)) as client:
            yield IntakeApi(client, clock, settings, EventStore(settings.schema_name, "intake")), server
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(server.data_dir, ignore_errors=True)


def assert_unavailable(response: httpx.Response, retry_after: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == retry_after
    body = response.json()
    assert body["status"] == 503 and body["title"] == "Service unavailable"


@pytest.mark.parametrize("fast_lane", [True, False], ids=["fast-lane", "route"])
async def test_requests_during_an_outage_get_503_and_the_first_after_it_succeeds(settings_for, fast_lane):
    async with intake_on_own_postgres(settings_for, http_fast_lane=fast_lane,
                                      unavailable_retry_after_seconds=3) as (intake, server):
        before = await intake.created()
        await asyncio.to_thread(server.stop)

        assert_unavailable(await intake.submit(), "3")
        assert_unavailable(await intake.get(f"/v1/requests/{before['id']}"), "3")
        assert_unavailable(await intake.submit(headers={"Idempotency-Key": "during-outage"}), "3")
        ready = await intake.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] is False

        await asyncio.to_thread(server.start)
        after = await intake.submit()
        assert after.status_code == 201, after.text
        read = await intake.get(f"/v1/requests/{after.json()['id']}")
        assert read.status_code == 200, read.text
        assert (await intake.client.get("/readyz")).json()["checks"]["database"] is True


async def test_the_first_request_after_a_quick_restart_succeeds_on_a_pool_of_dead_connections(settings_for):
    async with intake_on_own_postgres(settings_for, db_pool_size=8) as (intake, server):
        # Warm every kind of connection: pooled ones, the writers' and the duplicate loader's.
        await asyncio.gather(*(intake.created() for _ in range(20)))
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)  # no request in between: all of them are now dead

        after = await intake.submit()
        assert after.status_code == 201, after.text
        read = await intake.get(f"/v1/requests/{after.json()['id']}")
        assert read.status_code == 200, read.text


async def test_only_unavailability_is_a_503_a_failing_statement_stays_a_500():
    import asyncpg
    from fastapi import FastAPI

    from shared.http.problems import install_problem_handlers

    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/bug")
    async def bug() -> None:
        raise asyncpg.UndefinedColumnError("column x does not exist")

    @app.get("/wrapped")
    async def wrapped() -> None:
        raise RuntimeError("could not load") from asyncpg.CannotConnectNowError("the database system is shutting down")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/bug")).status_code == 500
        assert_unavailable(await client.get("/wrapped"), "2")
