"""Dispatch's facts. Names and meanings are public (CONTRACT.md): never renamed, only versioned."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from shared.events import PERSONAL, DomainEvent, EventRegistry

registry = EventRegistry("dispatch")


class ResourceEvent(DomainEvent):
    subject_field = "resource_id"


@registry.register
class ResourceRegistered(ResourceEvent):
    resource_id: str
    name: str
    kind: str
    skills: dict[str, int]
    capacity: int
    zone: str | None = None
    team: str | None = None  # who the resource reports to: reports group staff by it
    shift: dict[str, Any] | None = None
    registered_by: str
    registered_at: datetime


@registry.register
class ResourceUpdated(ResourceEvent):
    resource_id: str
    changes: dict[str, Any]
    reason: str
    updated_by: str
    updated_at: datetime


@registry.register
class ResourceAvailabilityChanged(ResourceEvent):
    resource_id: str
    status: str
    until: datetime | None = None
    reason: str
    changed_by: str
    changed_at: datetime


@registry.register
class JobOpened(DomainEvent):
    request_id: str
    priority: str
    kind: str
    category: str | None = None
    required_skills: list[str]
    zone: str | None = None
    emergency: bool = False
    received_at: datetime
    respond_by: datetime
    resolve_by: datetime
    calendar: dict[str, Any]
    opened_at: datetime


@registry.register
class JobReprioritised(DomainEvent):
    """The request was triaged again: the job follows its newest triage, whole: priority, category
    and the skills it needs, the zone it is in, the calendar its clocks run on, and the deadlines.

    v2 added `category`, `required_skills` and `calendar`. `required_skills` None means category
    and skills stayed as they were, `calendar` None that the calendar did: what every v1 record
    meant, since v1 carried priority and deadlines only. v3 added `zone` (None: the request has
    none). This code always records all of them.
    """

    version: ClassVar[int] = 3

    request_id: str
    priority: str
    emergency: bool
    category: str | None
    required_skills: list[str] | None
    zone: str | None
    calendar: dict[str, Any] | None
    respond_by: datetime
    resolve_by: datetime
    reprioritised_at: datetime


@registry.upcaster("JobReprioritised", 1)
def upcast_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    # No defaults on the v2 fields, so a v1 payload reads only through here, never by accident.
    return {**data, "category": None, "required_skills": None, "calendar": None}


@registry.upcaster("JobReprioritised", 2)
def upcast_v2_v3(data: dict[str, Any]) -> dict[str, Any]:
    # Every v1 and v2 record was written while dispatch opened every job with no zone (intake
    # recorded none), so None is exactly the zone the job had after it.
    return {**data, "zone": None}


@registry.register
class AllocationRequested(DomainEvent):
    """A allocation that a rule says must be approved first (e.g. to an external partner)."""

    request_id: str
    resource_id: str
    requested_by: str
    reason: str
    requested_at: datetime


@registry.register
class AllocationApproved(DomainEvent):
    request_id: str
    resource_id: str
    approved_by: str
    approved_at: datetime


@registry.register
class ResourceAllocated(DomainEvent):
    request_id: str
    resource_id: str
    strategy: str
    score: dict[str, float] | None = None
    candidates: int = 0
    allocated_by: str
    previous_resource_id: str | None = None
    reason: str | None = None
    allocated_at: datetime


@registry.register
class AllocationAccepted(DomainEvent):
    request_id: str
    resource_id: str
    accepted_at: datetime


@registry.register
class AllocationDeclined(DomainEvent):
    request_id: str
    resource_id: str
    reason: str
    declined_at: datetime


@registry.register
class WorkStarted(DomainEvent):
    request_id: str
    resource_id: str
    started_at: datetime


@registry.register
class ResponseClockStopped(DomainEvent):
    """The job's response clock stopped: it is intake's first response, so it follows intake.

    `cause` "acknowledged": intake's RequestAcknowledged, the first response (in time when
    `stopped_at` is at or before the job's respond_by, as intake's within_target says); "closed":
    the request closed with no response given, so none is owed any more. `stopped_at` is when that
    happened at intake, `recorded_at` when dispatch learnt it.
    """

    request_id: str
    cause: Literal["acknowledged", "closed"]
    stopped_at: datetime
    recorded_at: datetime


@registry.register
class WorkNoteAdded(DomainEvent):
    request_id: str
    author: str
    note: str
    milestone: str | None = None
    added_at: datetime


@registry.register
class WorkPaused(DomainEvent):
    request_id: str
    waiting_on: str
    note: str | None = None
    paused_at: datetime


@registry.register
class WorkResumed(DomainEvent):
    request_id: str
    resumed_at: datetime


@registry.register
class IssueResolved(DomainEvent):
    request_id: str
    resource_id: str
    resolution_code: str
    summary: str
    resolved_at: datetime


@registry.register
class JobEscalated(DomainEvent):
    request_id: str
    level: str
    trigger: str
    reason: str
    escalated_by: str
    escalated_at: datetime


@registry.register
class SlaWarning(DomainEvent):
    request_id: str
    clock: str
    deadline: datetime
    warned_at: datetime


@registry.register
class SlaBreached(DomainEvent):
    request_id: str
    clock: str
    deadline: datetime
    breached_at: datetime


@registry.register
class JobReleased(DomainEvent):
    request_id: str
    resource_id: str | None = None
    reason: str
    released_at: datetime


@registry.register
class JobReopened(DomainEvent):
    """The customer rejected the resolution: the job is open again and its resolution clock resumes.

    v2 added `rejected_at`, when the customer rejected it (intake's RequestReopened): the clock
    counts again from there, the time since IssueResolved counted as a pause (awaiting the
    customer's confirmation); the budget is not renewed.
    """

    version: ClassVar[int] = 2

    request_id: str
    # The customer's words, as intake's RequestReopened carried them: sealed under their key,
    # which dispatch copies and never opens.
    reason: Annotated[str, PERSONAL]
    rejected_at: datetime
    reopened_at: datetime


@registry.upcaster("JobReopened", 1)
def upcast_reopened_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v1 knew only when dispatch reopened the job: the latest the rejection can have been.
    return {**data, "rejected_at": data["reopened_at"]}
