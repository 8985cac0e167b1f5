"""Event-sourced aggregate base: state changes only by applying events. Pure."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Iterable, TypeVar

from shared.events import DomainEvent
from shared.ids import new_uuid

A = TypeVar("A", bound="Aggregate")

_NAMESPACE = uuid.UUID("5e7a1c3e-0b4e-4d0c-9a53-7d1f2f3b8c11")


class Aggregate:
    """Subclasses define `when_<EventName>(event)` for every event they record."""

    def __init__(self) -> None:
        self.version = 0
        self.recorded_ids: set[str] = set()  # ids of the stored events it was rebuilt from
        # Whose personal data its events hold: their personal fields are sealed under this
        # customer's key (shared.shredding). None: its events hold none.
        self.data_subject: str | None = None
        # When its latest events were recorded (their envelopes' time): set by the repository, so
        # that rows written from the aggregate's state are the same live and when rebuilt.
        self.changed_at: datetime | None = None
        self._pending: list[DomainEvent] = []

    def record(self, event: DomainEvent) -> None:
        self.apply(event)
        self._pending.append(event)

    def apply(self, event: DomainEvent) -> None:
        getattr(self, f"when_{type(event).event_name()}")(event)

    @property
    def changed(self) -> bool:
        return bool(self._pending)

    def take_pending(self) -> list[DomainEvent]:
        pending, self._pending = self._pending, []
        return pending

    @classmethod
    def rehydrate(cls: type[A], events: Iterable[DomainEvent], version: int) -> A:
        aggregate = cls()
        for event in events:
            aggregate.apply(event)
        aggregate.version = version
        return aggregate


class IdSource:
    """New ids; derived from a seed (an idempotency key) so that a retried command repeats them."""

    def __init__(self, seed: str | None = None) -> None:
        self._seed, self._count = seed, 0

    @property
    def seeded(self) -> bool:
        return self._seed is not None

    def peek(self) -> str:
        """The id `next()` will give, without taking it."""
        return _derive(self._seed, self._count + 1) if self._seed is not None else ""

    def next(self) -> str:
        self._count += 1
        if self._seed is None:
            return new_uuid()
        return _derive(self._seed, self._count)


def _derive(seed: str, n: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{seed}#{n}"))
