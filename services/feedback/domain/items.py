"""A feedback item: a complaint, a suggestion or praise, with its own deadline for an answer."""
from __future__ import annotations

from datetime import datetime, timedelta

from services.feedback.domain import events as ev
from shared.aggregate import Aggregate
from shared.errors import InvalidTransition

KINDS = ("complaint", "suggestion", "praise")
DEFAULT_DEADLINES = {"complaint": timedelta(hours=24), "suggestion": timedelta(days=5), "praise": timedelta(days=7)}
ESCALATES = frozenset({"complaint"})  # a complaint not handled in time goes up at once


class FeedbackItem(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.id, self.subject_id, self.kind, self.status = "", "", "", "open"
        self.respond_by: datetime | None = None
        self.escalated = False

    def acknowledge(self, by: str, note: str | None, now: datetime) -> None:
        if self.status != "open":
            raise InvalidTransition(f"feedback {self.id} is {self.status}: it was acknowledged already")
        self.record(ev.FeedbackAcknowledged(feedback_id=self.id, subject_id=self.subject_id, acknowledged_by=by,
                                            note=note, acknowledged_at=now))

    def investigate(self, by: str, findings: str, now: datetime) -> None:
        if self.status == "resolved":
            raise InvalidTransition(f"feedback {self.id} is resolved already")
        self.record(ev.FeedbackInvestigated(feedback_id=self.id, subject_id=self.subject_id, investigator=by,
                                            findings=findings, investigated_at=now))

    def resolve(self, outcome: str, by: str, now: datetime) -> None:
        if self.status == "resolved":
            raise InvalidTransition(f"feedback {self.id} is resolved already")
        assert self.respond_by is not None
        self.record(ev.FeedbackResolved(feedback_id=self.id, subject_id=self.subject_id, outcome=outcome,
                                        resolved_by=by, within_deadline=now <= self.respond_by, resolved_at=now))

    def escalate_if_late(self, now: datetime) -> bool:
        """Handled means answered with an outcome; a complaint without one by its deadline escalates, once."""
        if self.kind not in ESCALATES or self.status == "resolved" or self.escalated:
            return False
        if self.respond_by is None or now < self.respond_by:
            return False
        self.record(ev.FeedbackEscalated(feedback_id=self.id, subject_id=self.subject_id,
                                         reason=f"{self.kind} not handled by {self.respond_by.isoformat()}",
                                         escalated_at=now))
        return True

    def when_FeedbackReceived(self, e: ev.FeedbackReceived) -> None:
        self.id, self.subject_id, self.kind, self.respond_by = e.feedback_id, e.subject_id, e.kind, e.respond_by

    def when_FeedbackAcknowledged(self, e: ev.FeedbackAcknowledged) -> None:
        self.status = "acknowledged"

    def when_FeedbackInvestigated(self, e: ev.FeedbackInvestigated) -> None:
        self.status = "investigating"

    def when_FeedbackResolved(self, e: ev.FeedbackResolved) -> None:
        self.status = "resolved"

    def when_FeedbackEscalated(self, e: ev.FeedbackEscalated) -> None:
        self.escalated = True
