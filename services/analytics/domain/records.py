"""The facts beside the requests': feedback items (complaints above all) and resources. Pure."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from services.analytics.domain.folds import first_of, parse_time


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

    def apply(self, name: str, data: dict[str, Any], at: datetime) -> None:
        if name == "FeedbackReceived":
            self.kind, self.request_id = data["kind"], data.get("request_id")
            self.received_at, self.respond_by = at, parse_time(data["respond_by"])
        elif name == "FeedbackAcknowledged":
            self.acknowledged_at = first_of(self.acknowledged_at, at)
        elif name == "FeedbackResolved":
            self.resolved_at, self.within_deadline = at, bool(data["within_deadline"])
        elif name == "FeedbackEscalated":
            self.escalated = True


@dataclass
class ResourceFact:
    resource_id: str
    name: str | None = None
    kind: str | None = None
    team: str | None = None
    zone: str | None = None
    capacity: int = 1

    def apply(self, name: str, data: dict[str, Any], at: datetime) -> None:
        if name == "ResourceRegistered":
            self.name, self.kind, self.team = data["name"], data["kind"], data.get("team")
            self.zone, self.capacity = data.get("zone"), int(data["capacity"])
        elif name == "ResourceUpdated":
            for key in ("name", "team", "zone", "capacity"):
                if key in data["changes"]:
                    setattr(self, key, data["changes"][key])


FEEDBACK_EVENTS = frozenset({"FeedbackReceived", "FeedbackAcknowledged", "FeedbackResolved", "FeedbackEscalated"})
RESOURCE_EVENTS = frozenset({"ResourceRegistered", "ResourceUpdated"})
FEEDBACK_FIELDS = tuple(f.name for f in fields(FeedbackFact))
RESOURCE_FIELDS = tuple(f.name for f in fields(ResourceFact))
