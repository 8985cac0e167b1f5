"""Group commit: concurrent stand-alone appends share one transaction and one WAL flush.

Each caller still gets the exact semantics of its own append: when anything in a batch does not
go in whole (a version conflict, a retried event id), the batch keeps only what cannot be in
doubt and the rest is settled one append at a time by `EventStore.append`.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Sequence

import structlog

from shared.db import Conn, Database, HeldConnection, fetch
from shared.envelope import Envelope, check_fits
from shared.eventstore.store import PERSONAL_SQL, EventStore, columns, queued, stamp

log = structlog.get_logger(__name__)


@dataclass
class _Append:
    stream_id: str
    events: list[Envelope]
    expected: int
    done: asyncio.Future[int] = field(repr=False)


class _PartialBatch(Exception):
    pass


class GroupCommitAppender:
    """Stand-alone appends through a few writer tasks, each holding one connection."""

    def __init__(
        self, db: Database, store: EventStore, writers: int = 2, max_batch: int = 256,
        max_event_bytes: int | None = None,
    ) -> None:
        self.db, self.store = db, store
        self.max_event_bytes = max_event_bytes or store.max_event_bytes
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Append] = asyncio.Queue()
        self._writers = writers
        self._tasks: list[asyncio.Task[None]] = []
        s = store.schema
        self._batch_sql = queued(s, f"""
            INSERT INTO {s}.events (event_id, stream_id, stream_version, type, subject, time,
                                    correlation_id, causation_id, data, personal, traceparent)
            SELECT i.event_id, i.stream_id, i.stream_version, i.type, i.subject, i.time,
                   i.correlation_id, i.causation_id, i.data::jsonb, {PERSONAL_SQL.format("i.personal")},
                   i.traceparent
            FROM unnest($1::text[], $2::int[], $3::int[], $4::uuid[], $5::text[], $6::text[],
                        $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
                 WITH ORDINALITY AS i(stream_id, stream_version, expected, event_id, type, subject,
                                      time, correlation_id, causation_id, data, personal, traceparent, n)
            WHERE i.expected <= 0 OR EXISTS (SELECT 1 FROM {s}.events x
                  WHERE x.stream_id = i.stream_id AND x.stream_version = i.expected)
            ORDER BY i.n
            ON CONFLICT DO NOTHING""")

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(), name=f"appender-{i}") for i in range(self._writers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def append(self, stream_id: str, events: Sequence[Envelope], expected_version: int) -> int:
        """Append in a transaction of its own; returns the new stream version once committed."""
        if not self._tasks:
            raise RuntimeError("GroupCommitAppender is not started")
        stamped = stamp(events, stream_id, expected_version)
        check_fits(stamped, self.max_event_bytes)  # before it is queued: none of the append is written
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Append(stream_id, stamped, expected_version, done))
        return await done

    async def _run(self) -> None:
        held = HeldConnection(self.db)
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < self.max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                try:
                    async with held.use() as conn:
                        await self._write(conn, batch)
                except asyncio.CancelledError:
                    _fail(batch, ConnectionError("event store writer stopped"))
                    raise
                except Exception as exc:
                    log.warning("append batch failed", error=repr(exc), size=len(batch))
                    _fail(batch, exc)
        finally:
            await held.release()

    async def _write(self, conn: Conn, batch: list[_Append]) -> None:
        leftovers = batch
        if len(batch) > 1:
            try:
                async with conn.transaction():
                    complete, leftovers = await self._write_batch(conn, batch)
            except _PartialBatch:
                complete, leftovers = [], batch
            for item in complete:
                _settle(item, item.expected + len(item.events))
        for item in leftovers:
            await self._write_one(conn, item)

    async def _write_batch(
        self, conn: Conn, batch: list[_Append]
    ) -> tuple[list[_Append], list[_Append]]:
        rows = [(a, e) for a in batch for e in a.events]
        events = [e for _, e in rows]
        written = {str(r[0]) for r in await fetch(
            conn, self._batch_sql, [e.stream_id for e in events], [e.stream_version for e in events],
            # Only an append's first row can check the version: the others would need rows this
            # very statement inserts, which it cannot see. -1 means "no check".
            [a.expected if e.stream_version == a.expected + 1 else -1 for a, e in rows],
            *columns(events),
        )}
        complete, leftovers = [], []
        for item in batch:
            count = sum(e.id in written for e in item.events)
            if 0 < count < len(item.events):
                raise _PartialBatch()  # roll back: never commit half an append
            (complete if count else leftovers).append(item)
        return complete, leftovers

    async def _write_one(self, conn: Conn, item: _Append) -> None:
        try:
            async with conn.transaction():
                version = await self.store.append(conn, item.stream_id, item.events, item.expected)
        except Exception as exc:
            if not item.done.done():
                item.done.set_exception(exc)
            return
        _settle(item, version)


def _settle(item: _Append, version: int) -> None:
    if not item.done.done():
        item.done.set_result(version)


def _fail(batch: list[_Append], exc: BaseException) -> None:
    for item in batch:
        if not item.done.done():
            item.done.set_exception(exc)
