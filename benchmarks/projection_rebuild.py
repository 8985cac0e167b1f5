"""`servicetrail projections rebuild intake requests`, measured: intake's requests read model built
anew from its own events (generated, `tests/support/generated.py`) beside the live one and switched
in, in events/s against the ops issue's goal. `python -m benchmarks.projection_rebuild [events]`.
"""
from __future__ import annotations

import time
from typing import Any

from benchmarks.analytics_rebuild import load_archive
from benchmarks.common import with_servers, write_result
from services.intake.adapters.projection import RequestsProjection
from services.intake.bootstrap import MIGRATIONS
from shared.db import Database
from shared.eventstore import EventStore
from shared.migrations import migrate
from shared.ops.rebuild import checksum, rebuild

SCHEMA = "intake_rebuild_bench"


async def measure(database_url: str, events: int) -> dict[str, Any]:
    db = Database(database_url, 4)
    try:
        await migrate(db.engine, MIGRATIONS, SCHEMA)
        loaded = await load_archive(db, SCHEMA, events, service="intake")
        store, projection = EventStore(SCHEMA, "intake"), RequestsProjection(SCHEMA)
        first = await rebuild(db, store, SCHEMA, projection)  # from an empty read model
        async with db.connect() as conn:
            built = await checksum(conn, SCHEMA, "requests")
        again = await rebuild(db, store, SCHEMA, projection)  # beside a full live one
        async with db.connect() as conn:
            assert await checksum(conn, SCHEMA, "requests") == built
    finally:
        await db.dispose()
    return {"events": loaded, "first": _rate(first.events, first.seconds), "rebuild": _rate(again.events, again.seconds),
            "goal_events_per_second": 100_000}


def _rate(events: int, seconds: float) -> dict[str, float]:
    return {"seconds": round(seconds, 2), "events_per_second": round(events / seconds)}


async def main(events: int = 200_000) -> dict[str, Any]:
    started = time.perf_counter()
    result = await with_servers(lambda url, _: measure(url, events))
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    write_result("projection_rebuild", result)
    return result


if __name__ == "__main__":
    import asyncio
    import sys

    print(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)))
