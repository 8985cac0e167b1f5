"""The unit of work on PostgreSQL: one transaction on the service's Database, aggregates in their
streams (EventSourcedRepository), their working rows beside them, answers in `idempotency_keys`.

A unit may also join a transaction someone else holds (a consumer's, whose applied-event record
must commit with the handler's writes; a scheduler's, holding the rows it picked): it then saves
on commit and leaves committing, rolling back and retrying to that transaction's owner.
"""
from __future__ import annotations

import abc
from typing import Any, Awaitable, Callable, TypeVar

import orjson

from shared.aggregate import Aggregate, IdSource
from shared.db import Conn, Database, execute, fetch, from_jsonb, ident
from shared.errors import InvalidTransition
from shared.events import DomainEvent
from shared.repository import EventSourcedRepository
from shared.shredding.keyring import KeyRing
from shared.unit_of_work import Remembered, Repository, UnitOfWork

A = TypeVar("A", bound=Aggregate)
RowWriter = Callable[[Conn, A], Awaitable[None]]


class StreamRepository(Repository[A]):
    """Aggregates of one kind in their streams, on the unit's connection. `rows`, if given, writes
    an aggregate's working rows (queues, lookups) in the same transaction."""

    def __init__(self, streams: EventSourcedRepository[A], conn: Conn, ids: IdSource,
                 rows: RowWriter[A] | None = None) -> None:
        super().__init__(ids)
        self.streams, self.conn, self.rows = streams, conn, rows

    async def _load(self, aggregate_id: str) -> A | None:
        return await self.streams.get(self.conn, aggregate_id)

    async def _store(self, aggregate_id: str, aggregate: A, events: list[DomainEvent]) -> None:
        # Rows first. A scheduler locks due rows (FOR UPDATE SKIP LOCKED) and then appends: a
        # command that appended first and then waited for such a row would hold the stream's next
        # version while the scheduler waited for it, a deadlock. This way the command waits for
        # the row, and its append then loses cleanly (ConcurrencyError: the bus runs it again).
        # The rows see the time the events will carry (`changed_at`), so that rows written from the
        # aggregate's state are the same as a rebuild from the events writes (shared/ops/rebuild_streams.py).
        at = self.streams.clock.now()
        if events:
            aggregate.changed_at = at
        if self.rows is not None:
            await self.rows(self.conn, aggregate)
        await self.streams.append(self.conn, aggregate_id, aggregate, events, self.ids, at)


class PostgresUnitOfWork(UnitOfWork):
    """A unit of work on one pooled connection: its own transaction (committed by `commit`,
    rolled back otherwise), or the one of the connection it joined. A service's subclass creates
    its repositories on the connection in `_open`."""

    def __init__(self, db: Database | None, schema: str, ids: IdSource, conn: Conn | None = None,
                 keys: KeyRing | None = None) -> None:
        """`conn`: join that connection's transaction rather than open one on `db`; `keys`: seal
        kept answers that may show a customer's personal data (see `seal_kept`)."""
        super().__init__(ids)
        self.db, self.schema, self._joined, self.keys = db, ident(schema), conn, keys
        self._checkout: Any = None  # the pooled connection's context, when the unit opened its own
        self._tx: Any = None

    @abc.abstractmethod
    def _open(self, conn: Conn) -> None:
        """Create the service's repositories on `conn`."""

    async def _begin(self) -> None:
        if self._joined is not None:
            self.conn = self._joined
        else:
            assert self.db is not None
            self._checkout = self.db.connect()
            self.conn = await self._checkout.__aenter__()
            self._tx = self.conn.transaction()
            await self._tx.start()
        self._open(self.conn)

    async def _commit(self) -> None:
        tx, self._tx = self._tx, None  # a failed COMMIT has ended the transaction too
        if tx is not None:
            await tx.commit()

    async def rollback(self) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            await tx.rollback()

    async def _end(self, *exc: Any) -> None:
        checkout, self._checkout = self._checkout, None
        if checkout is not None:  # the pool sees the error, so it can tell a dead connection
            await checkout.__aexit__(*exc)

    async def remembered(self, scope: str, key: str) -> Remembered | None:
        return await open_kept(self.keys, await kept_answer(self.conn, self.schema, scope, key))

    async def remember(self, scope: str, key: str, body_hash: str, status: int, body: Any) -> None:
        body = await seal_kept(self.keys, self, body)
        await keep_answer(self.conn, self.schema, scope, key, body_hash, status, body)


async def seal_kept(keys: KeyRing | None, uow: UnitOfWork, body: Any) -> Any:
    """An answer to keep, sealed whole under the key of each customer whose data the unit's
    aggregates hold: it may show their personal data, which must not rest in plain text."""
    return body if keys is None else await keys.seal_answer(body, uow.data_subjects())


async def open_kept(keys: KeyRing | None, kept: Remembered | None) -> Remembered | None:
    """A kept answer opened; a retry whose first answer showed an erased customer's data is a 409."""
    if kept is None or keys is None:
        return kept
    body, readable = await keys.open_answer(kept.body)
    if not readable:
        raise InvalidTransition("the first answer to this Idempotency-Key showed personal data of a customer "
                                "since erased; it cannot be given again")
    return Remembered(kept.body_hash, kept.status, body)


async def kept_answer(conn: Conn, schema: str, scope: str, key: str) -> Remembered | None:
    """The answer kept for `key` in `scope` (`schema` quoted), if any."""
    rows = await fetch(conn, f"SELECT request_hash, status_code, body FROM {schema}.idempotency_keys "
                             f"WHERE scope = $1 AND key = $2", scope, key)
    return Remembered(rows[0][0], rows[0][1], from_jsonb(rows[0][2])) if rows else None


async def keep_answer(conn: Conn, schema: str, scope: str, key: str, body_hash: str, status: int, body: Any) -> None:
    """Keep an answer on `conn` (`schema` quoted); the first one kept for a key wins."""
    await execute(conn, f"INSERT INTO {schema}.idempotency_keys (key, scope, request_hash, status_code, body) "
                        f"VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (scope, key) DO NOTHING",
                  key, scope, body_hash, status, orjson.dumps(body, option=orjson.OPT_UTC_Z).decode())
