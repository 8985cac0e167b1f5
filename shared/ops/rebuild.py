"""A projection's read model built anew from the service's own event store, beside the live one,
then switched in within one transaction once caught up.

The new tables are made in `<schema>_rebuild`, empty copies of the live ones with the same
indexes under the same names, and every event is folded into them, a batch per transaction. The
switch takes the live projection's leadership (its runner waits meanwhile), folds what came since,
drops the live tables, moves the new ones into the schema and sets the checkpoint where the fold
ended, all in one transaction: readers see the old read model or the new one, never a mix, and
the live runner goes on from there. A rebuild stopped part way leaves the live model as it was.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

from shared import collector
from shared.checkpoint import Checkpoint
from shared.db import Conn, Database, execute, fetch, ident
from shared.envelope import Envelope
from shared.eventstore import EventStore
from shared.projector import Rebuildable, flush, fold

BATCH = 5000
_INDEXES = """
    SELECT i.relname, pg_get_indexdef(i.oid), x.indisprimary
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = $1 AND t.relname = $2 ORDER BY x.indisprimary DESC, i.relname"""

Progress = Callable[[int, int], None]  # (events folded, events in the store)


@dataclass(frozen=True)
class Rebuilt:
    events: int
    position: int  # the checkpoint the live projection goes on from
    seconds: float
    # The replaced tables' checksum, taken in the switch where they stood at the same position as
    # the new ones (comma-separated per table); None where they did not (a live projection behind).
    was: str | None = None
    now: str | None = None  # the new tables' checksum, the same way

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def checksum(conn: Conn, schema: str, table: str) -> str:
    """An md5 of every row's text, in no particular order: equal for equal contents."""
    rows = await fetch(conn, f"SELECT md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM "
                             f"(SELECT md5(t::text) AS h FROM {ident(schema)}.{ident(table)} t) rows")
    return str(rows[0][0])


async def checksums(conn: Conn, schema: str, tables: tuple[str, ...]) -> str:
    """Each table's `checksum`, comma-separated."""
    return ",".join([await checksum(conn, schema, t) for t in tables])


async def rebuild(db: Database, store: EventStore, schema: str, projection: Rebuildable,
                  progress: Progress = lambda done, total: None) -> Rebuilt:
    with collector.relaxed():  # a batch's decoded events and rows would set off full collections
        return await _rebuild(db, store, schema, projection, progress)


async def _rebuild(db: Database, store: EventStore, schema: str, projection: Rebuildable,
                   progress: Progress) -> Rebuilt:
    started = time.perf_counter()
    shadow = await prepare_shadow(db, schema, projection.tables)
    into = projection.on_schema(shadow)
    async with db.connect() as conn:
        total = await store.head(conn)
    position = folded = 0

    async def fold_in(conn: Conn, events: list[Envelope]) -> None:
        nonlocal position, folded
        await fold(into, conn, events)
        position, folded = events[-1].position or position, folded + len(events)

    async def batch(conn: Conn) -> bool:
        """One batch after `position` folded on `conn`; False once there was none."""
        events = await store.read_all(conn, position, BATCH)
        if events:
            await fold_in(conn, events)
        return bool(events)

    async def read_after(after: int) -> list[Envelope]:
        async with db.connect() as conn:
            return await store.read_all(conn, after, BATCH)

    # The next batch is read on a connection of its own while this one is folded, so PostgreSQL
    # reading and this process folding share the cores rather than take turns (positions are
    # gap-free and only committed events have one: reading ahead reads what reading after would).
    ahead = asyncio.create_task(read_after(0))
    try:
        while events := await ahead:
            ahead = asyncio.create_task(read_after(events[-1].position or position))
            async with db.begin() as conn:
                await fold_in(conn, events)
            progress(folded, max(total, folded))
    finally:
        ahead.cancel()
        await asyncio.gather(ahead, return_exceptions=True)
    async with db.begin() as conn:  # what the projection held back, before the switch rather than in it
        await flush(into, conn)
    checkpoint = Checkpoint(schema, f"projection:{projection.name}")
    while True:
        async with db.begin() as conn:
            if not await checkpoint.try_lead(conn, store.lease):
                await asyncio.sleep(0.05)  # the live runner is in a batch: after it
                continue
            while await batch(conn):  # what came since, in the switch's transaction
                pass
            await flush(into, conn)
            # The live runner waits for its lead: its tables stand where its checkpoint says.
            comparable = await checkpoint.read(conn) == position
            was = await checksums(conn, schema, projection.tables) if comparable else None
            now = await checksums(conn, f"{schema}_rebuild", projection.tables)
            await switch_in(conn, schema, projection.tables)
            await checkpoint.save(conn, position)
            break
    progress(folded, folded)
    return Rebuilt(folded, position, time.perf_counter() - started, was, now)


async def switch_in(conn: Conn, schema: str, tables: tuple[str, ...]) -> None:
    """The shadow's tables in place of the live ones, on the caller's transaction."""
    live, shadow = ident(schema), ident(f"{schema}_rebuild")
    for table in map(ident, tables):
        await execute(conn, f"DROP TABLE {live}.{table}")
        await execute(conn, f"ALTER TABLE {shadow}.{table} SET SCHEMA {live}")
    await execute(conn, f"DROP SCHEMA {shadow}")


async def prepare_shadow(db: Database, schema: str, tables: tuple[str, ...]) -> str:
    """`<schema>_rebuild` holding empty copies of `tables`, with the live indexes; its name."""
    live, shadow = ident(schema), ident(f"{schema}_rebuild")
    async with db.begin() as conn:
        await execute(conn, f"DROP SCHEMA IF EXISTS {shadow} CASCADE")  # what a stopped rebuild left
        await execute(conn, f"CREATE SCHEMA {shadow}")
        for table in map(ident, tables):
            await execute(conn, f"CREATE TABLE {shadow}.{table} (LIKE {live}.{table} INCLUDING DEFAULTS "
                                "INCLUDING CONSTRAINTS INCLUDING GENERATED)")
            # The live indexes under their own names (they move with the table when it is switched in).
            for name, definition, primary in await fetch(conn, _INDEXES, live, table):
                await execute(conn, definition.replace(f" ON {live}.{table} ", f" ON {shadow}.{table} ", 1))
                if primary:
                    await execute(conn, f"ALTER TABLE {shadow}.{table} ADD CONSTRAINT {ident(name)} "
                                        f"PRIMARY KEY USING INDEX {ident(name)}")
    return shadow
