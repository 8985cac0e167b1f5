"""How each event changes a request's fact: one fold per event name. Pure.

Each fold reads everything it needs before it sets anything, so an event whose data does not fit
its name (the projector skips those) leaves the fact as it was.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from services.analytics.domain.facts import RequestFact

DIMENSIONS = ("reliability", "responsiveness", "assurance", "empathy", "tangibles")
LEVELS = {"team_lead": 1, "manager": 2}


def first_of(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at < current else current


def parse_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _received(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    f.channel, f.kind, f.owner = d["channel"], d["kind"], d["owner"]
    f.category = f.category if f.triaged_at else d.get("category")  # triage may have recategorised
    f.received_at = first_of(f.received_at, at)


def _triaged(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    # Intake's own stream: the latest triage is the one in force. Everything is read before
    # anything is set, so an event that fails to fold leaves the fact as it was.
    deadlines = parse_time(d["respond_by"]), parse_time(d["resolve_by"]), parse_time(d["received_at"])
    f.priority, f.emergency, f.category = d["priority"], d["emergency"], d.get("category")
    f.channel, f.kind = d["channel"], d["kind"]
    f.respond_by, f.resolve_by = deadlines[:2]
    f.received_at = first_of(f.received_at, deadlines[2])
    f.triaged_at = first_of(f.triaged_at, at)


def _acknowledged(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    if f.acknowledged_at is None:
        f.acknowledged_at, f.ack_in_time = at, bool(d["within_target"])


def _updated(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    for key in ("category", "kind", "channel"):
        if key in d.get("changes", {}):
            setattr(f, key, d["changes"][key].get("after"))


def _allocated(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    f._stop_work(at)  # a job handed on mid-work: its holder's span ends here
    f.first_allocated_at = first_of(f.first_allocated_at, at)
    f.resource_id = d["resource_id"]
    f.path = [*f.path, d["resource_id"]]


def _started(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    f._stop_work(at)
    f.started_at = first_of(f.started_at, at)
    f.working_since = at


def _paused(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    f._stop_work(at)
    f.paused_since, f.pauses = at, f.pauses + 1


def _resumed(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    f._stop_work(at)
    f.working_since = at


def _resolved(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    f._stop_work(at)
    f.first_resolved_at = first_of(f.first_resolved_at, at)
    f.resolved_at, f.resolver_id, f.resolution_code = at, d["resource_id"], d["resolution_code"]


def _released(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    f._stop_work(at)


def _escalated(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    level = LEVELS.get(d["level"], 1)
    f.escalations, f.escalation_level = f.escalations + 1, max(f.escalation_level, level)


def _sla(outcome: str) -> Callable[["RequestFact", dict[str, Any], datetime], None]:
    def fold(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
        if d["clock"] in ("response", "resolution"):
            setattr(f, f"{d['clock']}_{outcome}", True)
    return fold


def _set(**values: Any) -> Callable[["RequestFact", dict[str, Any], datetime], None]:
    """A fold that sets fields: a string value names a data key, `at` the event's time."""
    def fold(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
        for name, source in values.items():
            setattr(f, name, at if source == "at" else d.get(source))
    return fold


def _count(name: str) -> Callable[["RequestFact", dict[str, Any], datetime], None]:
    def fold(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
        setattr(f, name, getattr(f, name) + 1)
    return fold


def _reopened(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    f.reopens = max(f.reopens, int(d["reopen_count"]))


def _survey(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    dimensions = {k: v for k, v in (d.get("dimensions") or {}).items() if k in DIMENSIONS}
    f.survey_returned_at, f.csat, f.nps, f.dimensions = at, d["csat"], d.get("nps"), dimensions


def _feedback(f: RequestFact, d: dict[str, Any], at: datetime) -> None:
    if d["kind"] == "complaint":
        f.complaints += 1


FOLDS: dict[str, Callable[["RequestFact", dict[str, Any], datetime], None]] = {
    "RequestReceived": _received,
    "RequestTriaged": _triaged,
    "RequestAcknowledged": _acknowledged,
    "RequestUpdated": _updated,
    "RequestWithdrawn": _set(withdrawn_at="at"),
    "RequestMerged": _set(merged_at="at", merged_into="into_request_id"),
    "RequestReopened": _reopened,
    "ResourceAllocated": _allocated,
    "AllocationDeclined": _count("declines"),
    "WorkStarted": _started,
    "WorkPaused": _paused,
    "WorkResumed": _resumed,
    "IssueResolved": _resolved,
    "JobReleased": _released,
    "JobEscalated": _escalated,
    "SlaWarning": _sla("warned"),
    "SlaBreached": _sla("breached"),
    "ResolutionConfirmed": _set(confirmed_at="at"),
    "ResolutionRejected": _count("rejections"),
    "RequestClosed": _set(closed_at="at", closed_how="how"),
    "SurveyReturned": _survey,
    "FeedbackReceived": _feedback,
    "FollowUpScheduled": _count("follow_ups"),
    "FollowUpCompleted": _count("follow_ups_done"),
}
