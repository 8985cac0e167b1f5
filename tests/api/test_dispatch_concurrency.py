"""Two dispatch replicas on one database and one consumer group: never over capacity, never a job
given twice, whatever the interleaving."""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from services.dispatch.bootstrap import bootstrap
from services.dispatch.settings import DispatchSettings
from shared.clock import FrozenClock
from tests.api.dispatch_support import MONDAY_10, DispatchApi
from tests.support.app import serving
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_two_replicas_never_overfill_a_resource_nor_give_a_job_twice(settings_for, broker):
    settings = settings_for("dispatch", DispatchSettings, allocator_poll_seconds=0.05, batch_threshold=1000)
    same = {"db_schema": settings.schema_name, "consumer_group_prefix": settings.consumer_group_prefix}
    replica_a = bootstrap(settings, clock=FrozenClock(MONDAY_10))
    replica_b = bootstrap(settings_for("dispatch", DispatchSettings, allocator_poll_seconds=0.05, batch_threshold=1000,
                                       **same), clock=FrozenClock(MONDAY_10))
    skill = f"race{uuid.uuid4().hex[:8]}"
    async with serving(replica_a) as client_a, serving(replica_b) as client_b:
        a = DispatchApi(client_a, FrozenClock(MONDAY_10), broker.bootstrap, replica_a)
        b = DispatchApi(client_b, FrozenClock(MONDAY_10), broker.bootstrap, replica_b)
        resources = [await a.resource(skill, capacity=2) for _ in range(3)]  # 6 slots
        request_ids = await asyncio.gather(*(a.triage(skill) for _ in range(20)))
        await until(lambda: _opened(a, request_ids), timeout=60)
        # Meanwhile both replicas also allocate by hand, racing each other and their own loops.
        manual = [(a if i % 2 else b).call("POST", f"/v1/jobs/{request_id}/allocate",
                                           json={"resource_id": resources[i % 3]["id"], "reason": "race"})
                  for i, request_id in enumerate(request_ids)]
        outcomes = await asyncio.gather(*manual)
        assert {r.status_code for r in outcomes} <= {200, 409}
        d = replica_a.state.dispatch

        async def all_slots_taken() -> bool:
            async with d.db.connect() as conn:
                rows = await d.tables.resource_rows(conn, "WHERE id = ANY($1)", [r["id"] for r in resources])
            return sum(r["load"] for r in rows) == 6

        await until(all_slots_taken, timeout=30)  # both allocators have had their go
        async with d.db.connect() as conn:
            loads = {r["id"]: r["load"] for r in await d.tables.resource_rows(conn, "WHERE id = ANY($1)",
                                                                              [r["id"] for r in resources])}
            holding = await d.tables.job_rows(conn, "WHERE request_id = ANY($1) AND status = 'allocated'", request_ids)
            rows = {j["request_id"]: j for j in await d.tables.job_rows(conn, "WHERE request_id = ANY($1)", request_ids)}
            streams = {r: await d.jobs.store.read_stream(conn, f"job-{r}") for r in request_ids}
            jobs = {r: await d.jobs.get(conn, r) for r in request_ids}
    assert all(load <= 2 for load in loads.values()) and sum(loads.values()) == 6
    assert Counter(j["resource_id"] for j in holding) == Counter(loads)  # the load is exactly what jobs hold
    assert len(holding) == 6
    for request_id, events in streams.items():
        versions = [e.stream_version for e in events]
        assert versions == list(range(1, len(versions) + 1))  # one history per job, no fork
        assert jobs[request_id].holder == rows[request_id]["resource_id"]  # the tables follow the events


async def _opened(api: DispatchApi, request_ids: list[str]) -> bool:
    d = api.app.state.dispatch
    async with d.db.connect() as conn:
        rows = await d.tables.job_rows(conn, "WHERE request_id = ANY($1)", request_ids)
    return len(rows) == len(request_ids)
