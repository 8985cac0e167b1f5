"""Start-up migrations: processes of one service starting together must not trip over each other."""
from __future__ import annotations

import asyncio
import sys
import time
import uuid

import pytest

from shared.db import Database
from shared.eventstore import EventStore
from tests.conftest import ROOT

pytestmark = pytest.mark.postgres

MIGRATE = """
import asyncio, sys, time
from pathlib import Path
from shared.db import Database
from shared.eventstore import EventStore
from shared.migrations import migrate

async def main():
    db = Database(sys.argv[1], pool_size=2)
    await asyncio.sleep(float(sys.argv[3]) - time.time())  # all start at once, as workers do
    await migrate(db.engine, Path("services/intake/adapters/migrations"), sys.argv[2])
    await db.dispose()

asyncio.run(main())
"""


async def test_processes_migrating_one_new_schema_at_once_all_succeed(database_url: str, db: Database):
    schema, start = f"m_{uuid.uuid4().hex[:10]}", str(time.time() + 4)
    processes = [await asyncio.create_subprocess_exec(sys.executable, "-c", MIGRATE, database_url, schema, start, cwd=ROOT,
                                                      stderr=asyncio.subprocess.PIPE) for _ in range(4)]
    outcomes = [(await p.wait(), (await p.stderr.read()).decode()[-400:]) for p in processes]  # type: ignore[union-attr]
    assert [o for o in outcomes if o[0] != 0] == []
    async with db.connect() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.alembic_version") == 1
        assert await conn.fetchval(f"SELECT to_regclass('{schema}.requests') IS NOT NULL")


async def test_moving_positions_out_of_events_keeps_every_number_and_queues_the_rest(db: Database):
    from services.intake.bootstrap import MIGRATIONS
    from shared.migrations import migrate

    schema = f"m_{uuid.uuid4().hex[:10]}"

    await migrate(db.engine, MIGRATIONS, schema, "intake_0002")  # events still numbered in place
    async with db.begin() as conn:
        for n in range(1, 6):
            await conn.execute(
                f"INSERT INTO {schema}.events (event_id, stream_id, stream_version, type, subject, time, "
                f"correlation_id, data, position) VALUES (gen_random_uuid(), $1, 1, 'servicetrail.intake.X.v1', "
                f"'s', now(), 'c', '{{}}', $2)", f"s-{n}", n if n <= 3 else None)
    await migrate(db.engine, MIGRATIONS, schema)
    async with db.connect() as conn:
        numbered = await conn.fetch(f"SELECT p.position, e.stream_id FROM {schema}.event_positions p "
                                    f"JOIN {schema}.events e ON e.id = p.id ORDER BY p.position")
        waiting = await conn.fetchval(f"SELECT count(*) FROM {schema}.unpositioned")
    assert [(r[0], r[1]) for r in numbered] == [(1, "s-1"), (2, "s-2"), (3, "s-3")] and waiting == 2
    store = EventStore(schema, "intake")
    async with db.begin() as conn:
        await store.assign_positions(conn)
    async with db.connect() as conn:
        assert [(e.position, e.stream_id) for e in await store.read_all(conn)] == [
            (n, f"s-{n}") for n in range(1, 6)]
