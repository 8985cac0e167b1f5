"""`servicetrail projections list|rebuild` on intake's requests read model, the service running:
a read model a bad row broke is built anew from the events and switched in, nothing lost."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid

import pytest

from services.dispatch.bootstrap import bootstrap as dispatch_bootstrap
from services.dispatch.settings import DispatchSettings
from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.clock import FrozenClock
from shared.db import fetch
from shared.eventstore import EventStore
from shared.ops.rebuild import checksum
from shared.settings import ServiceSettings
from tests.api.conftest import request_body
from tests.api.dispatch_support import MONDAY_10, DispatchApi
from tests.conftest import ROOT
from tests.support.app import as_role, serving
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def cli(settings: ServiceSettings, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "DB_SCHEMA": settings.schema_name,
           "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers, "DEV_SECRETS": "true",
           "KAFKA_IDEMPOTENCE": str(settings.kafka_idempotence).lower(), "TOPIC_PREFIX": settings.topic_prefix,
           "CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix, "COLUMNS": "200"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "shared.cli", *args, cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = (b.decode() for b in await asyncio.wait_for(process.communicate(), 120))
    assert "Traceback" not in err, err
    return process.returncode, out, err


async def test_a_broken_read_model_is_rebuilt_from_the_events_and_switched_in_while_the_service_runs(
        settings_for, db):
    settings = settings_for("intake", IntakeSettings, topic_prefix=f"rebuild-{uuid.uuid4().hex[:8]}-")
    schema, store = settings.schema_name, EventStore(settings.schema_name, "intake")
    async with serving(bootstrap(settings, clock=FrozenClock(MONDAY_10))) as intake:
        agent = as_role(Role.agent, "agent-r")
        ids = [(await intake.post("/v1/requests", json=request_body(), headers=agent)).json()["id"] for _ in range(12)]
        assert (await intake.post(f"/v1/requests/{ids[0]}/acknowledge", json={"message": "On it"},
                                  headers=agent)).status_code == 200
        assert (await intake.post(f"/v1/requests/{ids[1]}/withdraw", json={"reason": "fixed itself"},
                                  headers=as_role(Role.agent))).status_code == 200

        async def projected() -> bool:  # every event recorded so far numbered, and folded
            async with db.connect() as conn:
                position = await fetch(conn, f"SELECT position FROM {schema}.checkpoints "
                                             "WHERE name = 'projection:requests'")
                waiting = await fetch(conn, f"SELECT count(*) FROM {schema}.unpositioned")
                return waiting[0][0] == 0 and bool(position) and position[0][0] == await store.head(conn)

        await until(projected)
        async with db.connect() as conn:
            healthy = await checksum(conn, schema, "requests")
            # The incident: one row the read model should never hold.
            await fetch(conn, f"UPDATE {schema}.requests SET status = 'gibberish', priority_rank = -1 WHERE id = $1",
                        ids[2])
            assert await checksum(conn, schema, "requests") != healthy

        code, out, _ = await cli(settings, "projections", "list", "intake", "--json")
        [listed] = json.loads(out)
        assert code == 0 and listed["projection"] == "projection:requests" and listed["behind"] == 0

        code, out, _ = await cli(settings, "projections", "rebuild", "intake", "requests")
        assert code == 0 and "switched in at position" in out and "the live read model differed" in out, out
        async with db.connect() as conn:
            assert await checksum(conn, schema, "requests") == healthy
            indexes = {r[0] for r in await fetch(conn, "SELECT indexname FROM pg_indexes WHERE schemaname = $1 "
                                                       "AND tablename = 'requests'", schema)}
            assert {"requests_pkey", "requests_customer_idx", "requests_status_idx"} <= indexes
            assert not await fetch(conn, "SELECT 1 FROM pg_namespace WHERE nspname = $1", f"{schema}_rebuild")

        # The live projection goes on from the rebuilt one, and the desk reads it.
        late = (await intake.post("/v1/requests", json=request_body(), headers=agent)).json()["id"]
        await until(projected)
        listed = (await intake.get("/v1/requests", params={"limit": 100}, headers=agent)).json()["items"]
        assert {late, *ids} == {r["id"] for r in listed}
        assert next(r for r in listed if r["id"] == ids[2])["status"] != "gibberish"

    code, _, err = await cli(settings, "projections", "rebuild", "intake", "nothing")
    assert code == 1 and "has no read model 'nothing'" in err and "requests" in err


async def test_dispatchs_tables_rebuilt_while_its_commands_write_them_lose_nothing(settings_for, db):
    """Dispatch's tables are written by its commands, not by a projection: the switch locks them, so a
    command racing it waits and lands in the new tables (or before the lock, in what was rebuilt)."""
    settings = settings_for("dispatch", DispatchSettings, topic_prefix=f"rebuild-{uuid.uuid4().hex[:8]}-")
    schema, tables = settings.schema_name, ("jobs", "resources", "sla_timers")
    registered: list[str] = []
    async with serving(dispatch_bootstrap(settings, clock=FrozenClock(MONDAY_10))) as dispatch:
        dispatcher = as_role(Role.dispatcher)

        async def register(n: int) -> None:
            body = {"id": f"tech-{uuid.uuid4().hex[:8]}", "name": f"Tech {n}", "skills": ["repair"], "capacity": 2}
            answer = await dispatch.post("/v1/resources", json=body, headers=dispatcher)
            assert answer.status_code == 201, answer.text
            changed = await dispatch.patch(f"/v1/resources/{body['id']}", headers=dispatcher,
                                           json={"capacity": 3, "reason": "more hands"})
            assert changed.status_code == 200, changed.text
            registered.append(body["id"])

        for n in range(40):
            await register(n)
        stop = asyncio.Event()

        async def keep_writing() -> None:
            n = 100
            while not stop.is_set():
                await register(n)
                n += 1

        clock = FrozenClock(MONDAY_10)
        api = DispatchApi(dispatch, clock, settings.kafka_bootstrap_servers, None, topic_prefix=settings.topic_prefix)

        triaged: list[str] = []

        async def keep_allocating() -> None:
            # Allocation takes a resource's row before the job's timers and row, other commands
            # the timers first: the switch's locks meet both orders.
            while not stop.is_set():
                triaged.append(await api.triage("repair"))
                await asyncio.sleep(0.02)

        writer, allocator = asyncio.create_task(keep_writing()), asyncio.create_task(keep_allocating())
        code, out, _ = await cli(settings, "projections", "rebuild", "dispatch", "tables")
        stop.set()
        await asyncio.gather(writer, allocator)
        assert code == 0 and "switched in" in out, out

        async def settled() -> bool:  # every job triaged meanwhile opened (and given out where a slot was free)
            async with db.connect() as conn:
                jobs = (await fetch(conn, f"SELECT count(*) FROM {schema}.jobs"))[0][0]
            return jobs == len(triaged)
        await until(settled)
        async with db.connect() as conn:
            held = dict(await fetch(conn, f"SELECT resource_id, count(*) FROM {schema}.jobs WHERE resource_id IS NOT "
                                          f"NULL AND status IN ('allocated', 'accepted', 'in_progress', 'paused') "
                                          f"GROUP BY resource_id"))
            loads = {r[0]: r[1] for r in await fetch(conn, f"SELECT id, load FROM {schema}.resources WHERE load > 0")}
        assert held and loads == held  # each slot taken once, in the tables that were switched in
        async with db.connect() as conn:
            rows = {r[0]: r[1] for r in await fetch(conn, f"SELECT id, capacity FROM {schema}.resources")}
        assert len(registered) > 40 and all(rows.get(r) == 3 for r in registered)  # every write, the last one too
        async with db.connect() as conn:
            live = [await checksum(conn, schema, t) for t in tables]
        code, out, _ = await cli(settings, "projections", "rebuild", "dispatch", "tables")
        assert code == 0 and "differed" not in out, out  # what the race left equals a rebuild from the events
        code, out, _ = await cli(settings, "projections", "list", "dispatch", "--json")
        listed = {p["projection"]: p for p in json.loads(out)}
        assert code == 0 and listed["tables"]["tables"] == list(tables) and listed["tables"]["behind"] == 0
        async with db.connect() as conn:
            assert [await checksum(conn, schema, t) for t in tables] == live


async def test_an_admin_rebuilds_dispatchs_tables_over_http_one_at_a_time_and_the_run_is_recorded(settings_for, db):
    settings = settings_for("dispatch", DispatchSettings, topic_prefix=f"rebuild-{uuid.uuid4().hex[:8]}-",
                            ops_schema=f"ops_{uuid.uuid4().hex[:8]}")
    schema, tables = settings.schema_name, ("jobs", "resources", "sla_timers")
    async with serving(dispatch_bootstrap(settings, clock=FrozenClock(MONDAY_10))) as dispatch:
        admin, dispatcher = as_role(Role.admin, "ops-anna"), as_role(Role.dispatcher)
        for n in range(5):
            body = {"id": f"tech-{n}", "name": f"Tech {n}", "skills": ["repair"], "capacity": 2}
            assert (await dispatch.post("/v1/resources", json=body, headers=dispatcher)).status_code == 201
        assert (await dispatch.get("/v1/read-models", headers=dispatcher)).status_code == 403
        [listed] = (await dispatch.get("/v1/read-models", headers=admin)).json()["read_models"]
        assert listed["name"] == "tables" and listed["kind"] == "tables" and listed["behind"] == 0
        assert listed["tables"] == list(tables) and listed["last_rebuild"] is None
        async with db.connect() as conn:
            healthy = [await checksum(conn, schema, t) for t in tables]
            await fetch(conn, f"UPDATE {schema}.resources SET capacity = 9, name = 'gibberish' WHERE id = 'tech-3'")

        # Another process rebuilding it (here: its lock held): refused, nothing started.
        async with db.connect() as other:
            await fetch(other, "SELECT pg_advisory_lock(hashtext($1))", f"servicetrail-rebuild:{schema}")
            busy = await dispatch.post("/v1/read-models/tables/rebuild", headers=admin)
            await fetch(other, "SELECT pg_advisory_unlock(hashtext($1))", f"servicetrail-rebuild:{schema}")
        assert busy.status_code == 409 and "under way" in busy.json()["detail"]
        assert (await dispatch.post("/v1/read-models/nothing/rebuild", headers=admin)).status_code == 404

        started = await dispatch.post("/v1/read-models/tables/rebuild", headers=admin)
        assert started.status_code == 202 and started.headers["location"] == "/v1/read-models/tables"
        seen: dict = {}

        async def finished() -> bool:
            seen.update((await dispatch.get("/v1/read-models/tables", headers=admin)).json())
            return seen["last_rebuild"]["status"] != "running"

        await until(finished)
        run = seen["last_rebuild"]
        assert run["id"] == started.json()["id"] and run["status"] == "done", run
        assert (run["requested_by"], run["via"]) == ("ops-anna", "http")
        assert run["checksum"] == ",".join(healthy) != run["was_checksum"]
        async with db.connect() as conn:
            assert [await checksum(conn, schema, t) for t in tables] == healthy
        assert (await dispatch.get("/v1/resources/tech-3", headers=dispatcher)).json()["capacity"] == 2
