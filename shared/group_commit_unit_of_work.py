"""A unit of work whose appends are group-committed: for a hot command that creates aggregates.

A command's unit normally holds one transaction of its own (shared.postgres_unit_of_work): a
pooled connection, BEGIN, its writes, COMMIT. On intake's submit that cost 5 to 13 % of its
durable throughput in three of four side-by-side runs (commit 80fa42f). This unit takes no connection for the command.
Its repositories hand each aggregate's new events to the group-commit appender
(shared.eventstore.writer), which commits them whole, together with other callers' appends, in
one statement and one WAL flush; the answer kept under an idempotency key is written after them
on commit, in a statement of its own (as shared.http.idempotency.Idempotency keeps it).

So its writes are not one transaction, and a crash between the append and the answer leaves the
events without the answer. Idempotency holds nonetheless: a retry under the same key draws the
same ids, its append finds them stored and writes nothing, and the repository then reloads the
aggregate as stored, so the answer is the one the first attempt would have given (as it is for a
retry racing its first attempt). Loading (`get`) is outside any transaction: an append at the
loaded version still loses cleanly to any other (ConcurrencyError; the bus runs it again).
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Sequence, TypeVar

from shared.aggregate import Aggregate, IdSource
from shared.db import Database, ident
from shared.envelope import Envelope
from shared.events import DomainEvent
from shared.postgres_unit_of_work import keep_answer, kept_answer, open_kept, seal_kept
from shared.repository import EventSourcedRepository
from shared.shredding.keyring import KeyRing
from shared.unit_of_work import Remembered, Repository, UnitOfWork

A = TypeVar("A", bound=Aggregate)
Append = Callable[[str, Sequence[Envelope], int], Awaitable[int]]  # ServiceRuntime.append


class AppendingRepository(Repository[A]):
    """Aggregates of one kind, appended through `append` (the group-commit appender)."""

    def __init__(self, streams: EventSourcedRepository[A], append: Append, db: Database, ids: IdSource) -> None:
        super().__init__(ids)
        self.streams, self.append, self.db = streams, append, db

    async def _load(self, aggregate_id: str) -> A | None:
        async with self.db.connect() as conn:
            return await self.streams.get(conn, aggregate_id)

    async def _store(self, aggregate_id: str, aggregate: A, events: list[DomainEvent]) -> None:
        envelopes = await self.streams.sealed(aggregate, events, self.ids)
        aggregate.version = await self.append(self.streams.stream_id(aggregate_id), envelopes, aggregate.version)
        aggregate.recorded_ids.update(e.id for e in envelopes)
        if self.ids.seeded:
            # A retry racing its first attempt, or following a crash, appended nothing (the ids
            # were stored): the aggregate becomes the one stored, so the answer is the first one.
            stored = await self._load(aggregate_id)
            assert stored is not None  # the append has just committed, or found, its events
            vars(aggregate).update(vars(stored))


class GroupCommitUnitOfWork(UnitOfWork):
    """The unit (see the module): a service's subclass creates its repositories in `_open`
    with `self.repository(...)`."""

    def __init__(self, db: Database, schema: str, append: Append, ids: IdSource, keys: KeyRing | None = None) -> None:
        super().__init__(ids)
        self.db, self.schema, self.append = db, schema, append  # quoted only when a key needs it
        self.keys = keys  # seals a kept answer (shared.postgres_unit_of_work.seal_kept)
        self._answer: tuple[str, str, str, int, Any] | None = None

    def repository(self, streams: EventSourcedRepository[A]) -> AppendingRepository[A]:
        return AppendingRepository(streams, self.append, self.db, self.ids)

    def _open(self) -> None:
        """Create the service's repositories."""

    async def _begin(self) -> None:
        self._answer = None
        self._open()

    async def _commit(self) -> None:
        """The events are committed by now (`save`); what remains is the answer, if one is kept."""
        answer, self._answer = self._answer, None
        if answer is not None:
            async with self.db.connect() as conn:
                await keep_answer(conn, ident(self.schema), *answer)

    async def rollback(self) -> None:
        self._answer = None  # an append done is done: a retry under its key finds it (see the module)

    async def _end(self, *exc: Any) -> None:
        pass

    async def remembered(self, scope: str, key: str) -> Remembered | None:
        async with self.db.connect() as conn:
            kept = await kept_answer(conn, ident(self.schema), scope, key)
        return await open_kept(self.keys, kept)

    async def remember(self, scope: str, key: str, body_hash: str, status: int, body: Any) -> None:
        self._answer = (scope, key, body_hash, status, await seal_kept(self.keys, self, body))
