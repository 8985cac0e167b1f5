"""How each event changes a request's fact: one fold per published contract. Pure.

Events arrive decoded into their published contracts (`shared.contracts`, upcast to the current
version), so every field a fold reads is there and of its type; a record that does not fit its
contract never reaches a fold (the projector skips and counts it).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from shared.contracts import dispatch as d
from shared.contracts import feedback as fb
from shared.contracts import intake as i
from shared.events import DomainEvent

if TYPE_CHECKING:
    from services.analytics.domain.facts import RequestFact

DIMENSIONS = ("reliability", "responsiveness", "assurance", "empathy", "tangibles")
LEVELS = {"team_lead": 1, "manager": 2}
Fold = Callable[["RequestFact", Any, datetime], None]


def first_of(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at < current else current


def _received(f: RequestFact, e: i.RequestReceived, at: datetime) -> None:
    f.channel, f.kind, f.owner = e.channel, e.kind, e.owner
    f.category = f.category if f.triaged_at else e.category  # triage may have recategorised
    f.received_at = first_of(f.received_at, at)


def _triaged(f: RequestFact, e: i.RequestTriaged, at: datetime) -> None:
    # Intake's own stream: the latest triage is the one in force.
    f.priority, f.emergency, f.category = e.priority, e.emergency, e.category
    f.channel, f.kind = e.channel, e.kind
    f.respond_by, f.resolve_by = e.respond_by, e.resolve_by
    f.received_at = first_of(f.received_at, e.received_at)
    f.triaged_at = first_of(f.triaged_at, at)


def _acknowledged(f: RequestFact, e: i.RequestAcknowledged, at: datetime) -> None:
    if f.acknowledged_at is None:
        f.acknowledged_at, f.ack_in_time = at, e.within_target


def _updated(f: RequestFact, e: i.RequestUpdated, at: datetime) -> None:
    for key in ("category", "kind", "channel"):
        if key in e.changes:
            setattr(f, key, e.changes[key].after)


def _allocated(f: RequestFact, e: d.ResourceAllocated, at: datetime) -> None:
    f._stop_work(at)  # a job handed on mid-work: its holder's span ends here
    f.first_allocated_at = first_of(f.first_allocated_at, at)
    f.resource_id = e.resource_id
    f.path = [*f.path, e.resource_id]


def _started(f: RequestFact, e: d.WorkStarted, at: datetime) -> None:
    f._stop_work(at)
    f.started_at = first_of(f.started_at, at)
    f.working_since = at


def _paused(f: RequestFact, e: d.WorkPaused, at: datetime) -> None:
    f._stop_work(at)
    f.paused_since, f.pauses = at, f.pauses + 1


def _resumed(f: RequestFact, e: d.WorkResumed, at: datetime) -> None:
    f._stop_work(at)
    f.working_since = at


def _resolved(f: RequestFact, e: d.IssueResolved, at: datetime) -> None:
    f._stop_work(at)
    f.first_resolved_at = first_of(f.first_resolved_at, at)
    f.resolved_at, f.resolver_id, f.resolution_code = at, e.resource_id, e.resolution_code


def _released(f: RequestFact, e: d.JobReleased, at: datetime) -> None:
    f._stop_work(at)


def _escalated(f: RequestFact, e: d.JobEscalated, at: datetime) -> None:
    level = LEVELS.get(e.level, 1)
    f.escalations, f.escalation_level = f.escalations + 1, max(f.escalation_level, level)


def _sla(outcome: str) -> Fold:
    def fold(f: RequestFact, e: d.SlaWarning | d.SlaBreached, at: datetime) -> None:
        if e.clock in ("response", "resolution"):
            setattr(f, f"{e.clock}_{outcome}", True)
    return fold


def _set(**values: str) -> Fold:
    """A fold that sets fields: a value names the event's attribute, "at" the event's time."""
    def fold(f: RequestFact, e: DomainEvent, at: datetime) -> None:
        for name, source in values.items():
            setattr(f, name, at if source == "at" else getattr(e, source))
    return fold


def _count(name: str) -> Fold:
    def fold(f: RequestFact, e: DomainEvent, at: datetime) -> None:
        setattr(f, name, getattr(f, name) + 1)
    return fold


def _reopened(f: RequestFact, e: i.RequestReopened, at: datetime) -> None:
    f.reopens = max(f.reopens, e.reopen_count)


def _survey(f: RequestFact, e: fb.SurveyReturned, at: datetime) -> None:
    dimensions = {k: v for k, v in e.dimensions.items() if k in DIMENSIONS}
    f.survey_returned_at, f.csat, f.nps, f.dimensions = at, e.csat, e.nps, dimensions


def _feedback(f: RequestFact, e: fb.FeedbackReceived, at: datetime) -> None:
    if e.kind == "complaint":
        f.complaints += 1


FOLDS: dict[type[DomainEvent], Fold] = {
    i.RequestReceived: _received,
    i.RequestTriaged: _triaged,
    i.RequestAcknowledged: _acknowledged,
    i.RequestUpdated: _updated,
    i.RequestWithdrawn: _set(withdrawn_at="at"),
    i.RequestMerged: _set(merged_at="at", merged_into="into_request_id"),
    i.RequestReopened: _reopened,
    d.ResourceAllocated: _allocated,
    d.AllocationDeclined: _count("declines"),
    d.WorkStarted: _started,
    d.WorkPaused: _paused,
    d.WorkResumed: _resumed,
    d.IssueResolved: _resolved,
    d.JobReleased: _released,
    d.JobEscalated: _escalated,
    d.SlaWarning: _sla("warned"),
    d.SlaBreached: _sla("breached"),
    fb.ResolutionConfirmed: _set(confirmed_at="at"),
    fb.ResolutionRejected: _count("rejections"),
    fb.RequestClosed: _set(closed_at="at", closed_how="how"),
    fb.SurveyReturned: _survey,
    fb.FeedbackReceived: _feedback,
    fb.FollowUpScheduled: _count("follow_ups"),
    fb.FollowUpCompleted: _count("follow_ups_done"),
}
