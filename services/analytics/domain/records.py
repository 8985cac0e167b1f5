"""The facts beside the requests': feedback items (complaints above all) and resources. Pure."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from services.analytics.domain.folds import first_of
from shared.contracts import dispatch as d
from shared.contracts import feedback as fb
from shared.events import DomainEvent


@dataclass
class FeedbackFact:
    feedback_id: str
    kind: str | None = None
    request_id: str | None = None
    received_at: datetime | None = None
    respond_by: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    within_deadline: bool | None = None
    escalated: bool = False

    def apply(self, event: DomainEvent, at: datetime) -> None:
        if isinstance(event, fb.FeedbackReceived):
            self.kind, self.request_id = event.kind, event.request_id
            self.received_at, self.respond_by = at, event.respond_by
        elif isinstance(event, fb.FeedbackAcknowledged):
            self.acknowledged_at = first_of(self.acknowledged_at, at)
        elif isinstance(event, fb.FeedbackResolved):
            self.resolved_at, self.within_deadline = at, event.within_deadline
        elif isinstance(event, fb.FeedbackEscalated):
            self.escalated = True
        elif isinstance(event, fb.FeedbackWithdrawn):
            # Ended with its request: never overdue, and neither handled in time nor late.
            self.resolved_at = at


@dataclass
class ResourceFact:
    resource_id: str
    name: str | None = None
    kind: str | None = None
    team: str | None = None
    zone: str | None = None
    capacity: int = 1

    def apply(self, event: DomainEvent, at: datetime) -> None:
        if isinstance(event, d.ResourceRegistered):
            self.name, self.kind, self.team = event.name, event.kind, event.team
            self.zone, self.capacity = event.zone, event.capacity
        elif isinstance(event, d.ResourceUpdated):
            # The contract leaves the changed values untyped (any resource field may change):
            # every one is read, and the capacity made a number, before anything is set.
            changes = {k: event.changes[k] for k in ("name", "team", "zone", "capacity") if k in event.changes}
            if "capacity" in changes:
                changes["capacity"] = int(changes["capacity"])
            for key, value in changes.items():
                setattr(self, key, value)


FEEDBACK_EVENTS = frozenset({fb.FeedbackReceived, fb.FeedbackAcknowledged, fb.FeedbackResolved, fb.FeedbackEscalated,
                             fb.FeedbackWithdrawn})
RESOURCE_EVENTS = frozenset({d.ResourceRegistered, d.ResourceUpdated})
FEEDBACK_FIELDS = tuple(f.name for f in fields(FeedbackFact))
RESOURCE_FIELDS = tuple(f.name for f in fields(ResourceFact))
