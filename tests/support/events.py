"""Helpers to make envelopes for tests."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timezone

from shared.aggregate import Aggregate
from shared.clock import FrozenClock
from shared.contracts import REGISTRIES
from shared.envelope import Envelope
from shared.events import DomainEvent
from shared.eventstore import EventStore
from shared.repository import EventSourcedRepository


def new_event(subject: str = "r-1", name: str = "RequestUpdated", **data: object) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="/servicetrail/intake",
        type=f"servicetrail.intake.{name}.v1",
        subject=subject,
        time=datetime.now(timezone.utc),
        stream_id="",
        stream_version=0,
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        data=dict(data),
    )


def new_events(n: int, subject: str = "r-1") -> list[Envelope]:
    return [new_event(subject, n=i) for i in range(n)]


def published(event: DomainEvent, version: int, stream_prefix: str, at: datetime | None = None) -> Envelope:
    """`event` exactly as its producing service puts it on its topic: the envelope its repository
    makes (type, data, personal marks) at `version` of the `<stream_prefix>-<subject>` stream.
    Consumers are tested on these, never on hand-made partial payloads."""
    registry = next(r for r in REGISTRIES.values() if r.get(type(event).event_name()) is type(event))
    repository = EventSourcedRepository(EventStore("unused", registry.service), registry, Aggregate,
                                        stream_prefix, FrozenClock(at or datetime.now(timezone.utc)))
    env = repository.envelopes([event])[0]
    return dataclasses.replace(env, stream_id=repository.stream_id(event.subject), stream_version=version)
