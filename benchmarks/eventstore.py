"""Event store append throughput against the raw asyncpg ceiling, measured side by side.

Both sides: 16 concurrent writers, 1 event per transaction, the same row into a table of the same
shape (the raw table is `LIKE events INCLUDING ALL`). The store side goes through the public
GroupCommitAppender (optimistic version check, idempotent ids) with the position sequencer running
alongside as the relay runs it in production. Rounds alternate raw/store so drift hits both.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import orjson

from benchmarks.common import scratch_database, summary, write_result
from shared.db import Database, plain_url
from shared.eventstore import EventStore, GroupCommitAppender
from shared.migrations import migrate
from tests.support.events import new_event

WRITERS, SECONDS, ROUNDS = 16, 4.0, 3
MIGRATIONS = Path(__file__).resolve().parent.parent / "services/feedback/adapters/migrations"


async def raw_round(url: str, seconds: float = SECONDS) -> float:
    pool = await asyncpg.create_pool(plain_url(url), min_size=WRITERS, max_size=WRITERS)
    sql = ("INSERT INTO bench.raw_events (event_id, stream_id, stream_version, type, subject, time, "
           "correlation_id, causation_id, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)")
    count, deadline = 0, time.perf_counter() + seconds

    async def writer() -> None:
        nonlocal count
        stream, version = str(uuid.uuid4()), 0
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                e = new_event(stream)
                version += 1
                async with conn.transaction():
                    await conn.execute(sql, uuid.UUID(e.id), stream, version, e.type, e.subject,
                                       datetime.now(timezone.utc), e.correlation_id, None, orjson.dumps(e.data).decode())
                count += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    rate = count / (time.perf_counter() - started)
    await pool.close()
    return rate


async def store_round(url: str, seconds: float = SECONDS) -> float:
    db = Database(url, pool_size=4)
    store = EventStore("bench", "intake")
    appender = GroupCommitAppender(db, store, writers=2)
    await appender.start()
    count, deadline = 0, time.perf_counter() + seconds

    async def writer() -> None:
        nonlocal count
        stream, version = str(uuid.uuid4()), 0
        while time.perf_counter() < deadline:
            version = await appender.append(stream, [new_event(stream)], version)
            count += 1

    async def sequencer() -> None:
        while time.perf_counter() < deadline:
            async with db.begin() as conn:
                await store.assign_positions(conn)
            await asyncio.sleep(0.05)

    started = time.perf_counter()
    await asyncio.gather(sequencer(), *(writer() for _ in range(WRITERS)))
    rate = count / (time.perf_counter() - started)
    await appender.stop()
    await db.dispose()
    return rate


async def main() -> dict:
    async with scratch_database() as url:
        db = Database(url, 2)
        await migrate(db.engine, MIGRATIONS, "bench")
        async with db.begin() as conn:
            await conn.execute("CREATE TABLE bench.raw_events (LIKE bench.events INCLUDING ALL)")
        await db.dispose()
        await raw_round(url, 1.0)  # warm-up: caches, connections, plans
        await store_round(url, 1.0)
        raw, stored = [], []
        for _ in range(ROUNDS):
            raw.append(await raw_round(url))
            stored.append(await store_round(url))
    ratios = [s / r for s, r in zip(stored, raw, strict=True)]
    result = {
        "what": "append throughput, 1 event per transaction, 16 concurrent writers, events/s",
        "event_store_group_commit": summary(stored),
        "raw_asyncpg_ceiling": summary(raw),
        "ratio": summary(ratios, digits=2),
        "goal": "ratio >= 0.8",
        "rounds": ROUNDS,
        "seconds_per_round": SECONDS,
    }
    write_result("eventstore_append", result)
    return result


if __name__ == "__main__":
    print(orjson.dumps(asyncio.run(main()), option=orjson.OPT_INDENT_2).decode())
