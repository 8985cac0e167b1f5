"""The unit of work: one command's transaction, the aggregates it touches, and what it answered.

A command handler sees only this port (cosmicpython's unit of work): repositories to get and add
aggregates, the ids it may draw, and nothing of SQL. Committing saves every aggregate that changed
(its rows, then its new events at the version it was loaded at) and commits; leaving without a
commit rolls back. The PostgreSQL implementation is `shared.postgres_unit_of_work`;
`shared.group_commit_unit_of_work` is one without a transaction of its own, for a hot command
that creates aggregates (its appends are group-committed, and stay if it fails afterwards);
handler tests use in-memory ones (tests/support/unit_of_work.py).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Generic, Iterator, TypeVar

from shared.aggregate import Aggregate, IdSource
from shared.events import DomainEvent
from shared.shredding.keyring import command_began, command_ended

A = TypeVar("A", bound=Aggregate)
_REPOSITORY_NAMES: dict[type, tuple[str, ...]] = {}  # a unit class's repository attributes


class AlreadyRecorded(Exception):
    """The command was recorded before (its first event id, derived from its idempotency key, is in
    this aggregate's stream): a retry that raced the first attempt, or followed a crash. The bus
    answers with the aggregate as stored and applies nothing again."""

    def __init__(self, aggregate: Aggregate) -> None:
        super().__init__("this command was recorded already")
        self.aggregate = aggregate


@dataclass(frozen=True)
class Remembered:
    """The first answer given to a command sent under an idempotency key."""

    body_hash: str
    status: int
    body: Any


class Repository(abc.ABC, Generic[A]):
    """One kind of aggregate within a unit of work (an identity map: one instance per id).

    `get` loads (None when there is none); `add` puts an aggregate in the unit. At commit every
    aggregate that changed is saved, and every one added even if it recorded nothing: a working
    row out of step with its stream is then put right.
    """

    def __init__(self, ids: IdSource) -> None:
        self.ids = ids
        self.seen: dict[str, A] = {}
        self._added: set[str] = set()

    async def get(self, aggregate_id: str) -> A | None:
        if aggregate_id in self.seen:
            return self.seen[aggregate_id]
        aggregate = await self._load(aggregate_id)
        if aggregate is None:
            return None
        if self.ids.seeded and self.ids.peek() in aggregate.recorded_ids:
            raise AlreadyRecorded(aggregate)
        self.seen[aggregate_id] = aggregate
        return aggregate

    def add(self, aggregate_id: str, aggregate: A) -> None:
        self.seen[aggregate_id] = aggregate
        self._added.add(aggregate_id)

    async def save(self) -> list[DomainEvent]:
        """Save what changed (and what was added); returns the events it recorded."""
        recorded: list[DomainEvent] = []
        for aggregate_id, aggregate in self.seen.items():
            if not (aggregate.changed or aggregate_id in self._added):
                continue
            events = aggregate.take_pending()
            await self._store(aggregate_id, aggregate, events)
            recorded += events
        self._added.clear()
        return recorded

    @abc.abstractmethod
    async def _load(self, aggregate_id: str) -> A | None:
        """The aggregate rebuilt from its stream, with its version and recorded ids."""

    @abc.abstractmethod
    async def _store(self, aggregate_id: str, aggregate: A, events: list[DomainEvent]) -> None:
        """Append `events` at the aggregate's version (ConcurrencyError if the stream moved on),
        with its working rows; the aggregate is then at its stream's new version."""


class UnitOfWork(abc.ABC):
    """Port: one command's writes, in one transaction (a group-commit unit: see the module).
    `async with uow: ...; await uow.commit()`.

    Subclasses (one per service) declare their repositories as attributes, created when the unit
    is entered; `ids` are the ids the command may draw (derived from its idempotency key, if any,
    so that a retry draws the same ones).
    """

    def __init__(self, ids: IdSource) -> None:
        self.ids = ids
        self._committed = False
        self._new_events: list[DomainEvent] = []
        self._repositories: list[Repository[Any]] = []  # its attributes that are, found on entering

    async def __aenter__(self) -> Any:  # noqa: ANN401 (the subclass itself)
        self._committed = False
        self._keys_scope = command_began()  # each customer's key looked up once in the command
        try:
            await self._begin()
        except BaseException:  # no __aexit__ follows: a scope left open would outlive the command
            command_ended(self._keys_scope)
            raise
        # Which attributes are repositories is the class's: found once (isinstance on an ABC,
        # for every attribute of every unit, cost a hot path's command about 2 us).
        names = _REPOSITORY_NAMES.get(type(self))
        if names is None:
            names = _REPOSITORY_NAMES[type(self)] = tuple(
                name for name, value in vars(self).items() if isinstance(value, Repository))
        self._repositories = [getattr(self, name) for name in names]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            try:
                if not self._committed:
                    await self.rollback()
            except BaseException as failed:  # the connection died under us: say so to whoever holds it
                await self._end(type(failed), failed, failed.__traceback__)
                raise
            await self._end(*exc)
        finally:
            command_ended(self._keys_scope)

    async def save(self) -> None:
        """Save every changed aggregate now, inside the transaction: their versions are then
        current (an answer built from them says so). ConcurrencyError on a lost race."""
        for repository in self._repositories:
            self._new_events += await repository.save()

    async def commit(self) -> None:
        await self.save()
        await self._commit()
        self._committed = True

    def data_subjects(self) -> set[str]:
        """Whose personal data the aggregates this unit touched hold (its answer may show it)."""
        return {a.data_subject for r in self._repositories for a in r.seen.values() if a.data_subject}

    def collect_new_events(self) -> Iterator[DomainEvent]:
        """The events this unit recorded (once committed, for in-process reactions)."""
        events, self._new_events = self._new_events, []
        yield from events

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Undo everything since the unit began."""

    @abc.abstractmethod
    async def remembered(self, scope: str, key: str) -> Remembered | None:
        """The answer kept for `key` in `scope`, if a command was sent under it before."""

    @abc.abstractmethod
    async def remember(self, scope: str, key: str, body_hash: str, status: int, body: Any) -> None:
        """Keep the answer, in this transaction (the first one kept for a key wins)."""

    @abc.abstractmethod
    async def _begin(self) -> None:
        """Open the transaction and create the repositories on it."""

    @abc.abstractmethod
    async def _commit(self) -> None:
        """Commit the transaction."""

    @abc.abstractmethod
    async def _end(self, *exc: Any) -> None:
        """Give back what `_begin` took (told of the exception leaving the unit, if any)."""
