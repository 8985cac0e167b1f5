"""In-memory units of work for handler unit tests (no database): the event store is a dict of
streams, the remembered answers a dict. A unit's appends reach the streams only when it commits;
an append at a version its stream has moved past is a ConcurrencyError, and one carrying event ids
already stored is a no-op, as in PostgreSQL. A service's fake subclasses `FakeUnitOfWork` and
creates its repositories in `_open` with `self.repository(...)`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from shared.aggregate import Aggregate, IdSource
from shared.events import DomainEvent
from shared.eventstore import ConcurrencyError
from shared.unit_of_work import Remembered, Repository, UnitOfWork

A = TypeVar("A", bound=Aggregate)
Stored = list[tuple[str, DomainEvent]]  # (event id, event), in version order


@dataclass
class FakeStore:
    streams: dict[str, Stored] = field(default_factory=dict)
    answers: dict[tuple[str, str], Remembered] = field(default_factory=dict)
    commits: int = 0

    def events(self, stream_id: str) -> list[DomainEvent]:
        return [e for _, e in self.streams.get(stream_id, [])]

    def names(self, stream_id: str) -> list[str]:
        return [type(e).event_name() for e in self.events(stream_id)]


class FakeRepository(Repository[A]):
    def __init__(self, unit: "FakeUnitOfWork", aggregate: type[A], prefix: str) -> None:
        super().__init__(unit.ids)
        self.unit, self.aggregate, self.prefix = unit, aggregate, prefix

    async def _load(self, aggregate_id: str) -> A | None:
        stored = self.unit.store.streams.get(f"{self.prefix}-{aggregate_id}")
        if not stored:
            return None
        aggregate = self.aggregate.rehydrate([e for _, e in stored], len(stored))
        aggregate.recorded_ids = {i for i, _ in stored}
        return aggregate

    async def _store(self, aggregate_id: str, aggregate: A, events: list[DomainEvent]) -> None:
        stream_id = f"{self.prefix}-{aggregate_id}"
        stamped = [(self.ids.next(), e) for e in events]
        stored = self.unit.store.streams.get(stream_id, [])
        if stamped and {i for i, _ in stamped} <= {i for i, _ in stored}:
            return  # a retry of an append that was stored
        if stamped and len(stored) != aggregate.version:
            raise ConcurrencyError(stream_id, aggregate.version, len(stored))
        self.unit.staged.append((stream_id, stamped))
        aggregate.version += len(stamped)
        aggregate.recorded_ids.update(i for i, _ in stamped)


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, store: FakeStore, ids: IdSource) -> None:
        super().__init__(ids)
        self.store = store
        self.staged: list[tuple[str, Stored]] = []
        self.kept: dict[tuple[str, str], Remembered] = {}

    def repository(self, aggregate: type[A], prefix: str) -> FakeRepository[A]:
        return FakeRepository(self, aggregate, prefix)

    def _open(self) -> None:
        """Create the service's repositories."""

    async def _begin(self) -> None:
        self.staged, self.kept = [], {}
        self._open()

    async def _commit(self) -> None:
        for stream_id, stamped in self.staged:
            self.store.streams.setdefault(stream_id, []).extend(stamped)
        for k, answer in self.kept.items():
            self.store.answers.setdefault(k, answer)
        self.store.commits += 1
        self.staged, self.kept = [], {}

    async def rollback(self) -> None:
        self.staged, self.kept = [], {}

    async def _end(self, *exc: Any) -> None:
        pass

    async def remembered(self, scope: str, key: str) -> Remembered | None:
        return self.store.answers.get((scope, key))

    async def remember(self, scope: str, key: str, body_hash: str, status: int, body: Any) -> None:
        self.kept.setdefault((scope, key), Remembered(body_hash, status, body))


@dataclass
class Key:
    """A command key as the bus reads it (Idempotency's scope, key and body hash)."""

    scope: str
    key: str | None
    body_hash: str = "body-1"
