"""What clients ask intake to do."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.intake.domain.priority import Level


@dataclass(frozen=True)
class Caller:
    """Who sends a command a customer may send: their id, and whether they are a customer (who
    changes only their own requests; anyone else's does not exist for them)."""

    id: str
    is_customer: bool = False

    def owns(self, customer_id: str) -> bool:
        return not self.is_customer or customer_id == self.id


@dataclass(frozen=True)
class CustomerDetails:
    id: str
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class SubmitRequest:
    customer: CustomerDetails
    channel: str
    kind: str
    title: str
    description: str
    urgency: Level
    impact: Level
    taken_by: str
    category: str | None = None
    location: str | None = None
    zone: str | None = None  # named by the client; else looked up from the location
    caller: Caller | None = None  # who sends it: a customer submits for themselves only


@dataclass(frozen=True)
class Acknowledge:
    request_id: str
    by: str
    message: str | None = None


@dataclass(frozen=True)
class Retriage:
    request_id: str
    by: str
    reason: str
    urgency: Level | None = None
    impact: Level | None = None
    category: str | None = None
    dispatch: bool | None = None  # None: as the last triage said


@dataclass(frozen=True)
class ConfirmNeed:
    request_id: str
    by: str
    what: str
    where: str | None = None
    when: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class UpdateRequest:
    """`fields` holds only what the caller sends: title, description, location, customer.*."""

    request_id: str
    by: str
    reason: str
    fields: dict[str, Any] = field(default_factory=dict)
    caller: Caller | None = None  # None: the desk or intake itself


@dataclass(frozen=True)
class RecordContact:
    request_id: str
    by: str
    via: str
    direction: str
    summary: str
    at: datetime | None = None


@dataclass(frozen=True)
class Withdraw:
    request_id: str
    by: str
    reason: str
    caller: Caller | None = None  # None: the desk or intake itself


@dataclass(frozen=True)
class Merge:
    request_id: str
    into: str
    by: str
    reason: str


@dataclass(frozen=True)
class FollowAcknowledgement:
    """Feedback acknowledged a feedback item about the request (its consumer sends this)."""

    request_id: str
    feedback_id: str
    by: str
    note: str | None
    at: datetime


@dataclass(frozen=True)
class Reopen:
    request_id: str
    reason: str
    rejected_at: datetime  # when the customer rejected the resolution (feedback's fact)


@dataclass(frozen=True)
class FollowFact:
    """Another service recorded a fact about the request (see `lifecycle.FACTS`)."""

    request_id: str
    fact: str  # "<service>.<EventName>", a key of lifecycle.FACTS
    cause: str  # its full ce_type
    cause_id: str
    happened_at: datetime
    resource_id: str | None = None  # for an allocation: who holds the job now


@dataclass(frozen=True)
class TakeOwnership:
    request_id: str
    by: str


@dataclass(frozen=True)
class EraseCustomer:
    """Make the customer's personal data unreadable everywhere (an admin's, on their request)."""

    customer_id: str
    by: str
