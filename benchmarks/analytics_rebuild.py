"""Analytics: rebuilding the read model from 1,000,000 archived events, and report query latency over it.

The history is generated (`tests/support/generated.py`: ~10 events per request over two years) and
loaded straight into the archive with positions, as if consumed. Measured: the first build of the
live version, then a blue-green rebuild beside it (request to switch), both in events/s; then each
report through the HTTP API (in-process ASGI) with a mix of filters and groupings, p50/p99.
`python -m benchmarks.analytics_rebuild [events]`.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import orjson

from benchmarks.common import summary, with_servers, write_result
from services.analytics.bootstrap import MIGRATIONS, bootstrap
from services.analytics.service_layer.read_models import ReadModels
from services.analytics.settings import AnalyticsSettings
from shared.auth import Role, TokenService
from shared.clock import FrozenClock
from shared.db import Database
from shared.eventstore import EventStore
from shared.migrations import migrate
from tests.support.generated import generate

START = datetime(2024, 11, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
CHUNK_REQUESTS = 10_000
COLUMNS = ["event_id", "stream_id", "stream_version", "type", "subject", "time", "correlation_id",
           "causation_id", "data", "personal"]
# What the dashboard asks by default (all data, by month) and what analysts slice: every report,
# all-time and by period, by day over two years, by dimension, filtered.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("sla", {"group_by": "month"}), ("sla", {"group_by": "day"}),
    ("sla", {"group_by": "priority", "from": "2026-08-01", "to": "2026-10-31"}),
    ("stages", {"group_by": "month"}), ("stages", {}), ("stages", {"group_by": "day"}),
    ("stages", {"group_by": "team", "category": "it > printer"}),
    ("backlog", {"group_by": "priority"}), ("backlog", {"as_of": "2025-12-01T12:00:00Z", "group_by": "team"}),
    ("satisfaction", {"group_by": "month"}), ("satisfaction", {"group_by": "week", "from": "2026-08-01"}),
    ("satisfaction", {"group_by": "team"}), ("complaints", {"group_by": "month"}),
    ("complaints", {"group_by": "category"}), ("staff", {}), ("staff", {"from": "2026-10-01", "to": "2026-10-31"}),
    ("staff", {"group_by": "team"}), ("forecast", {"days": 14}), ("forecast", {"days": 28, "channel": "web"}),
]


async def load_archive(db: Database, schema: str, events: int, service: str | None = None) -> int:
    """`events` generated events (only `service`'s, if named) in `schema`'s store, with positions."""
    total, chunk, spread = 0, 0, (NOW - START) / (events / (10 if service is None else 4) / CHUNK_REQUESTS)
    while total < events:
        history = generate(CHUNK_REQUESTS, seed=1000 + chunk, start=START + spread * chunk, spread=spread,
                           register=chunk == 0)
        kept = [e for e in history.envelopes if service is None or e.service == service]
        rows = [(e.id, e.stream_id, e.stream_version, e.type, e.subject, e.time, e.correlation_id,
                 e.causation_id, orjson.dumps(e.data).decode(), list(e.personal))
                for e in kept[: events - total]]
        async with db.begin() as conn:
            await conn.copy_records_to_table("events", schema_name=schema, records=rows, columns=COLUMNS)
        total, chunk = total + len(rows), chunk + 1
    async with db.begin() as conn:
        await conn.execute(f"INSERT INTO {schema}.event_positions (position, id) "
                           f"SELECT row_number() OVER (ORDER BY id), id FROM {schema}.events")
        await conn.execute(f"ANALYZE {schema}.events")
        await conn.execute(f"ANALYZE {schema}.event_positions")
    return total


async def fold_all(models: ReadModels) -> None:
    """Until every version is caught up (and a caught-up building one has switched)."""
    await models.run_once()  # the first version appears, or a rebuild starts folding
    while await models.run_once():
        pass
    await models.run_once()


async def measure(database_url: str, bootstrap_servers: str, events: int) -> dict[str, Any]:
    settings = AnalyticsSettings(database_url=database_url, kafka_bootstrap_servers=bootstrap_servers,
                                 kafka_idempotence=False, background_work=False, read_model_grace_seconds=0)
    db, schema, clock = Database(database_url, 4), settings.schema_name, FrozenClock(NOW)
    try:
        await migrate(db.engine, MIGRATIONS, schema)
        started = time.perf_counter()
        loaded = await load_archive(db, schema, events)
        load_s = time.perf_counter() - started
        models = ReadModels(db, EventStore(schema, "analytics"), clock, settings.tuning())
        started = time.perf_counter()
        await fold_all(models)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        version = await models.request_rebuild("bench")
        await fold_all(models)
        rebuild_s = time.perf_counter() - started
        status = {v["version"]: v["status"] for v in await models.progress()}
        assert status[version] == "live", status
        queries = await report_latencies(settings, clock)
    finally:
        await db.dispose()
    return {
        "events": loaded, "archive_load_seconds": round(load_s, 1),
        "first_build": {"seconds": round(first_s, 2), "events_per_second": round(loaded / first_s)},
        "rebuild": {"seconds": round(rebuild_s, 2), "events_per_second": round(loaded / rebuild_s)},
        "goal_events_per_second": 50_000, "reports": queries, "report_goal_p99_ms": 100,
    }


async def report_latencies(settings: AnalyticsSettings, clock: FrozenClock, rounds: int = 15) -> dict[str, Any]:
    app = bootstrap(settings, clock=clock)
    token = TokenService(settings).mint(Role.analyst, "bench")
    timings: dict[str, list[float]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            started = time.perf_counter()
            assert (await client.get("/v1/reports/sla")).status_code == 200  # loads the facts into memory
            cold_ms = (time.perf_counter() - started) * 1000
            for _ in range(rounds):
                for name, params in QUERIES:
                    started = time.perf_counter()
                    response = await client.get(f"/v1/reports/{name}", params=params)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, response.text
                    timings.setdefault(name, []).append(elapsed)
    every = sorted(t for values in timings.values() for t in values)
    return {
        "first_query_loading_facts_ms": round(cold_ms, 1),
        "all": {"queries": len(every), "p50_ms": round(every[len(every) // 2], 1),
                "p99_ms": round(every[min(len(every) - 1, int(len(every) * 0.99))], 1)},
        "by_report_ms": {name: summary(values) for name, values in timings.items()},
    }


async def main(events: int = 1_000_000) -> dict[str, Any]:
    result = await with_servers(lambda url, servers: measure(url, servers, events))
    write_result("analytics_rebuild", result)
    return result


if __name__ == "__main__":
    import asyncio

    print(orjson.dumps(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)),
                       option=orjson.OPT_INDENT_2).decode())
