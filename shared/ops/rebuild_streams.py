"""Working tables written from aggregates' state in the commands' own transactions (dispatch's jobs,
resources and SLA timers; feedback's closures, items and actions), built anew from the service's
event store beside the live ones and switched in within one transaction.

Such a row is a function of its aggregate's current state (and of when its latest events were
recorded), so the rebuild loads every aggregate from its stream and writes its rows with the
service's own row writers. There is no checkpoint to follow: the switch locks the live tables
(ACCESS EXCLUSIVE, so it waits for the commands writing them and holds back new ones), writes
again every stream whose version moved since it was read, then swaps the tables. Readers see the
old tables or the new ones, never a mix; a command waits for the switch, then goes on.
"""
from __future__ import annotations

import time
from typing import Protocol

from shared.db import Conn, Database, execute, fetch, ident
from shared.eventstore import EventStore
from shared.ops.rebuild import Progress, Rebuilt, prepare_shadow, switch_in

STREAMS_PER_BATCH = 500


class StreamTables(Protocol):
    """Tables a service writes from its aggregates' state, rebuilt by loading each aggregate anew."""

    name: str
    tables: tuple[str, ...]  # in the service's schema
    prefixes: tuple[str, ...]  # the streams they follow, by id prefix ("job-")

    def on_schema(self, schema: str) -> "StreamTables":
        """The same writers, writing to the same tables in `schema`."""

    async def rewrite(self, conn: Conn, stream_ids: list[str]) -> None:
        """Write the rows of the aggregates of `stream_ids`, loaded from their streams now."""

    async def finish(self, conn: Conn) -> None:
        """What depends on every row (dispatch: each resource's load), once all are written."""


async def rebuild_tables(db: Database, store: EventStore, schema: str, tables: StreamTables,
                         progress: Progress = lambda done, total: None) -> Rebuilt:
    started = time.perf_counter()
    into = tables.on_schema(await prepare_shadow(db, schema, tables.tables))
    async with db.connect() as conn:
        versions = await _versions(conn, store, tables.prefixes)
    total, done = sum(versions.values()), 0
    streams = sorted(versions)
    for i in range(0, len(streams), STREAMS_PER_BATCH):
        chunk = streams[i:i + STREAMS_PER_BATCH]
        async with db.begin() as conn:
            await into.rewrite(conn, chunk)
        done += sum(versions[s] for s in chunk)
        progress(done, total)
    async with db.begin() as conn:
        live = ", ".join(f"{ident(schema)}.{ident(t)}" for t in tables.tables)
        await execute(conn, f"LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE")
        now = await _versions(conn, store, tables.prefixes)
        moved = sorted(s for s, v in now.items() if versions.get(s) != v)
        for i in range(0, len(moved), STREAMS_PER_BATCH):
            await into.rewrite(conn, moved[i:i + STREAMS_PER_BATCH])
        await into.finish(conn)
        await switch_in(conn, schema, tables.tables)
        head = await store.head(conn)
    events = sum(now.values())
    progress(events, events)
    return Rebuilt(events, head, time.perf_counter() - started)


async def _versions(conn: Conn, store: EventStore, prefixes: tuple[str, ...]) -> dict[str, int]:
    """Each followed stream's version, committed events only (so none is missed: ids and
    positions are not commit order, but a stream's version is)."""
    rows = await fetch(conn, f"SELECT stream_id, max(stream_version) FROM {ident(store.schema)}.events "
                             f"WHERE stream_id LIKE ANY($1::text[]) GROUP BY stream_id",
                       [p.replace("_", "\\_") + "%" for p in prefixes])
    return {r[0]: r[1] for r in rows}
