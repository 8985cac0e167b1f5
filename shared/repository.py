"""Loads aggregates from their streams and turns their new events into envelopes to append."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, Sequence, TypeVar

from shared import context, tracing
from shared.aggregate import Aggregate, IdSource
from shared.clock import Clock
from shared.db import Conn
from shared.envelope import Envelope
from shared.events import DomainEvent, EventRegistry
from shared.eventstore import EventStore
from shared.shredding.fields import customers_in
from shared.shredding.keyring import KeyRing

A = TypeVar("A", bound=Aggregate)


class EventSourcedRepository(Generic[A]):
    """One kind of aggregate's streams (`<prefix>-<id>`) in a service's event store, on the
    caller's connection. Commands reach it through a unit of work (shared.unit_of_work)."""

    def __init__(
        self,
        store: EventStore,
        registry: EventRegistry,
        aggregate: type[A],
        stream_prefix: str,
        clock: Clock,
        keys: KeyRing | None = None,
    ) -> None:
        """`keys`: seal the events' personal fields under their aggregate's `data_subject` on the
        way in, and open them on the way out (shared.shredding). None only where the aggregate's
        events hold no plain personal value: dispatch's jobs pass on, sealed, the one they carry
        (a rejection's reason) and never open it."""
        self.store, self.registry, self.aggregate = store, registry, aggregate
        self.prefix, self.clock, self.keys = stream_prefix, clock, keys

    def stream_id(self, aggregate_id: str) -> str:
        return f"{self.prefix}-{aggregate_id}"

    async def get(self, conn: Conn, aggregate_id: str) -> A | None:
        envelopes = await self.store.read_stream(conn, self.stream_id(aggregate_id))
        if not envelopes:
            return None
        return (await self._loaded([envelopes]))[0]

    async def get_many(self, conn: Conn, aggregate_ids: Sequence[str]) -> dict[str, A]:
        """The aggregates of `aggregate_ids` that have a stream, by id: their streams read in one
        statement and their personal values opened with one key look-up (a rebuild loads them all)."""
        streams = await self.store.read_streams(conn, [self.stream_id(i) for i in aggregate_ids])
        ids = [stream_id[len(self.prefix) + 1:] for stream_id in streams]
        return dict(zip(ids, await self._loaded(list(streams.values())), strict=True))

    async def _loaded(self, streams: list[list[Envelope]]) -> list[A]:
        """Each stream's (non-empty) envelopes as its aggregate, its personal values opened."""
        subjects: list[set[str]] = [set() for _ in streams]
        if self.keys is not None:  # the aggregate works on plain values (`[erased]` once erased)
            subjects = [customers_in([e.data for e in envelopes if e.personal]) for envelopes in streams]
            opened = iter(await self.keys.open_envelopes([e for envelopes in streams for e in envelopes]))
            streams = [[next(opened) for _ in envelopes] for envelopes in streams]
        loaded = []
        for envelopes, whose in zip(streams, subjects, strict=True):
            events = [self.registry.decode(e.type, e.data) for e in envelopes]
            aggregate = self.aggregate.rehydrate(events, envelopes[-1].stream_version)
            if aggregate.data_subject is None and len(whose) == 1:  # whose data its stream holds
                aggregate.data_subject = next(iter(whose))
            aggregate.recorded_ids = {e.id for e in envelopes}
            aggregate.changed_at = envelopes[-1].time
            loaded.append(aggregate)
        return loaded

    def envelopes(self, events: Sequence[DomainEvent], ids: IdSource | None = None,
                  data: Sequence[dict[str, Any]] | None = None, at: datetime | None = None) -> list[Envelope]:
        """The events as envelopes to append (the store refuses one the relay could not publish);
        `data`, each event's as stored, if not its plain dump (`sealed` gives it sealed); `at`,
        their time, if not now."""
        ids = ids or IdSource()
        data = data if data is not None else [event.model_dump(mode="json") for event in events]
        ctx = context.current()
        now = at or self.clock.now()
        traceparent = tracing.current_traceparent()
        return [
            Envelope(
                id=ids.next(),
                source=self.store.source,
                type=self.registry.type_of(event),
                subject=event.subject,
                time=now,
                stream_id="",
                stream_version=0,
                correlation_id=ctx.correlation_id,
                causation_id=ctx.causation_id,
                data=stored,
                personal=personal_paths(type(event)),
                traceparent=traceparent,
            )
            for event, stored in zip(events, data, strict=True)
        ]

    async def save(self, conn: Conn, aggregate_id: str, aggregate: A, ids: IdSource | None = None) -> int:
        """Append the aggregate's new events inside the caller's transaction; returns the stream's
        new version, which the aggregate is then at.

        The aggregate must move on with its stream: an answer built from it would otherwise carry
        the version it was loaded at, and a second save in the same transaction would append at
        that stale version and lose to itself.
        """
        return await self.append(conn, aggregate_id, aggregate, aggregate.take_pending(), ids)

    async def sealed(self, aggregate: A, events: Sequence[DomainEvent], ids: IdSource | None = None,
                     at: datetime | None = None) -> list[Envelope]:
        """`envelopes`, their personal fields sealed for the aggregate's data subject: what is stored."""
        if self.keys is None:
            return self.envelopes(events, ids, at=at)
        data = [event.model_dump(mode="json") for event in events]
        return self.envelopes(events, ids, await self.keys.seal(data, [personal_paths(type(e)) for e in events],
                                                                aggregate.data_subject), at)

    async def append(self, conn: Conn, aggregate_id: str, aggregate: A, events: Sequence[DomainEvent],
                     ids: IdSource | None = None, at: datetime | None = None) -> int:
        """`save` for events already taken from the aggregate (a unit of work keeps them too);
        `at`, their time, if not now. The aggregate's `changed_at` becomes their time."""
        envelopes = await self.sealed(aggregate, events, ids, at)
        if envelopes:
            aggregate.changed_at = envelopes[-1].time
        aggregate.version = await self.store.append(conn, self.stream_id(aggregate_id), envelopes, aggregate.version)
        aggregate.recorded_ids.update(e.id for e in envelopes)
        return aggregate.version


@lru_cache(maxsize=None)
def personal_paths(cls: type[DomainEvent]) -> tuple[str, ...]:
    return tuple(cls.personal_fields())
