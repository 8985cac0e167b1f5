"""Intake's facts. Names and meanings are public (CONTRACT.md): never renamed, only versioned."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from shared.events import PERSONAL, DomainEvent, EventRegistry

registry = EventRegistry("intake")


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Customer(Value):
    id: str
    name: Annotated[str, PERSONAL]
    phone: Annotated[str | None, PERSONAL] = None
    email: Annotated[str | None, PERSONAL] = None


class SlaTargets(Value):
    """The policy in force at triage: targets and the calendar they run on, as it was then."""

    policy: str
    respond: str
    resolve: str
    calendar: dict[str, Any]


class FieldChange(Value):
    before: Any = None
    after: Any = None


@registry.register
class RequestReceived(DomainEvent):
    request_id: str
    customer: Customer
    channel: str
    kind: str
    category: str | None = None
    title: Annotated[str, PERSONAL]
    description: Annotated[str, PERSONAL]
    urgency: str
    impact: str
    location: Annotated[str | None, PERSONAL] = None
    zone: str | None = None  # v2: as the client named it (None: looked up from the location at triage)
    owner: str
    received_at: datetime

    version: ClassVar[int] = 2


@registry.upcaster("RequestReceived", 1)
def upcast_received_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "zone": None}  # v1 requests named no zone


@registry.register
class RequestTriaged(DomainEvent):
    request_id: str
    priority: str
    urgency: str
    impact: str
    kind: str
    channel: str
    category: str | None = None
    emergency: bool
    zone: str | None = None  # v2: where the work is, for dispatch's same-zone score
    received_at: datetime  # the SLA clocks run from here, however late the (re)triage
    respond_by: datetime
    resolve_by: datetime
    sla: SlaTargets
    triaged_by: str
    needs_review: bool
    reason: str | None = None
    triaged_at: datetime
    # v3: whether dispatch takes it up as work. Not a complaint (feedback's to handle) unless the
    # desk says so; once sent, it stays dispatch's.
    dispatch: bool = True

    version: ClassVar[int] = 3


@registry.upcaster("RequestTriaged", 1)
def upcast_triaged_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "zone": None}  # before v2 intake recorded no zone


@registry.upcaster("RequestTriaged", 2)
def upcast_triaged_v2_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "dispatch": True}  # before v3 every triaged request got a job


@registry.register
class RequestAcknowledged(DomainEvent):
    request_id: str
    acknowledged_by: str
    message: str | None = None
    acknowledged_at: datetime
    respond_by: datetime
    within_target: bool


@registry.register
class NeedConfirmed(DomainEvent):
    request_id: str
    confirmed_by: str
    what: str
    where: Annotated[str | None, PERSONAL] = None
    when: str | None = None
    note: str | None = None
    confirmed_at: datetime


@registry.register
class RequestUpdated(DomainEvent):
    request_id: str
    changes: dict[str, FieldChange]
    personal_changes: Annotated[dict[str, FieldChange], PERSONAL] = {}
    updated_by: str
    reason: str
    updated_at: datetime


@registry.register
class ContactRecorded(DomainEvent):
    request_id: str
    via: str
    direction: str
    summary: Annotated[str, PERSONAL]
    recorded_by: str
    contacted_at: datetime


@registry.register
class RequestWithdrawn(DomainEvent):
    request_id: str
    reason: Annotated[str, PERSONAL]
    withdrawn_by: str
    withdrawn_at: datetime


@registry.register
class RequestMerged(DomainEvent):
    request_id: str
    into_request_id: str
    reason: str
    merged_by: str
    merged_at: datetime


@registry.register
class RequestReopened(DomainEvent):
    """v2: `rejected_at`, when the customer rejected the resolution: facts other services recorded
    before it no longer move the request (they may arrive after the rejection)."""

    version: ClassVar[int] = 2
    request_id: str
    reason: Annotated[str, PERSONAL]  # the customer's, from their rejection
    reopen_count: int
    rejected_at: datetime
    reopened_at: datetime


@registry.upcaster("RequestReopened", 1)
def upcast_reopened_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 knew only when intake reopened the request: the best bound it gives for the rejection."""
    return {**data, "rejected_at": data["reopened_at"]}


@registry.register
class RequestProgressed(DomainEvent):
    """Another service's fact moved the request along its lifecycle (intake's consumer records it,
    so intake's answers and rules follow the whole process, not only intake's own steps)."""

    request_id: str
    status: str  # the request's lifecycle state from now on
    cause: str  # the fact's full ce_type
    cause_id: str  # and its event id
    resource_id: str | None = None  # who holds the job from now on, when the fact is an allocation
    happened_at: datetime  # when the fact was recorded by its producer: older facts never override newer
    recorded_at: datetime


@registry.register
class RequestOwnershipTaken(DomainEvent):
    """Someone on the desk took over the request (a self-service request is owned by nobody)."""

    request_id: str
    owner: str
    previous_owner: str
    taken_at: datetime


@registry.register
class CustomerErased(DomainEvent):
    """The customer's data key was destroyed: every personal field sealed under it, in every event
    store, topic, archive and read model, reads `[erased]` from now on (shared.shredding)."""

    subject_field: ClassVar[str] = "customer_id"
    customer_id: str
    erased_by: str
    erased_at: datetime
