"""A feedback item: a complaint, a suggestion or praise, with its own deadline for an answer.

Its flow is the README's state x command table, and nothing else: acknowledge, then investigate
(optional, and repeatable: each time with the findings so far), then resolve with an outcome.
Nothing follows a resolution. A complaint without an outcome by its deadline escalates once,
whatever step it is at; that is the deadline's doing, not a command, so it is never refused. A
complaint intake took as a request ends with that request if it is withdrawn or merged first
(`withdrawn`, the request's doing): nothing follows that either.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.aggregate import Aggregate
from shared.contracts import feedback as ev
from shared.errors import InvalidTransition

KINDS = ("complaint", "suggestion", "praise")
DEFAULT_DEADLINES = {"complaint": timedelta(hours=24), "suggestion": timedelta(days=5), "praise": timedelta(days=7)}
ESCALATES = frozenset({"complaint"})  # a complaint not handled in time goes up at once

# Command -> the states it may be given in. Resolving needs an acknowledgement first: the desk
# answers nobody it has not told it is on the case. Investigating is optional (praise needs none;
# a plain case's findings go into its outcome) but only once acknowledged, for the same reason.
ALLOWED = {
    "acknowledge": frozenset({"open"}),
    "investigate": frozenset({"acknowledged", "investigating"}),
    "resolve": frozenset({"acknowledged", "investigating"}),
}
UNRESOLVED = frozenset({"open", "acknowledged", "investigating"})  # where a late complaint escalates
NEXT = {"open": "acknowledge it first", "acknowledged": "investigate or resolve it",
        "investigating": "add findings or resolve it", "resolved": "nothing follows a resolution",
        "withdrawn": "it ended with its request"}


class FeedbackItem(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.id, self.subject_id, self.kind, self.status = "", "", "", "open"
        self.request_id: str | None = None
        self.text, self.given_by, self.via = "", "", "feedback"
        self.received_at: datetime | None = None
        self.respond_by: datetime | None = None
        self.escalated = False
        self.outcome: str | None = None
        self.resolved_at: datetime | None = None
        self.within_deadline: bool | None = None

    @classmethod
    def receive(cls, item_id: str, kind: str, request_id: str | None, text: str, by: str, respond_by: datetime,
                now: datetime, via: str = "feedback", customer_id: str | None = None) -> "FeedbackItem":
        """A new item, open, to be answered by `respond_by` (its kind's deadline from now); `via`
        "intake" for a complaint intake took as a request. Its text is `customer_id`'s personal
        data (the request's customer), else the giver's."""
        item = cls()
        item.data_subject = customer_id or by
        item.record(ev.FeedbackReceived(feedback_id=item_id, subject_id=request_id or item_id, kind=kind,
                                        request_id=request_id, text=text, given_by=by, respond_by=respond_by,
                                        received_at=now, via=via))
        return item

    def _require(self, command: str) -> None:
        if self.status not in ALLOWED[command]:
            raise InvalidTransition(f"cannot {command} feedback {self.id}: it is {self.status} ({NEXT[self.status]})")

    def acknowledge(self, by: str, note: str | None, now: datetime) -> None:
        self._require("acknowledge")
        self.record(ev.FeedbackAcknowledged(feedback_id=self.id, subject_id=self.subject_id, acknowledged_by=by,
                                            note=note, acknowledged_at=now))

    def investigate(self, by: str, findings: str, now: datetime) -> None:
        self._require("investigate")
        self.record(ev.FeedbackInvestigated(feedback_id=self.id, subject_id=self.subject_id, investigator=by,
                                            findings=findings, investigated_at=now))

    def resolve(self, outcome: str, by: str, now: datetime) -> None:
        self._require("resolve")
        assert self.respond_by is not None
        self.record(ev.FeedbackResolved(feedback_id=self.id, subject_id=self.subject_id, outcome=outcome,
                                        resolved_by=by, within_deadline=now <= self.respond_by, resolved_at=now))

    def withdraw(self, reason: str, now: datetime) -> bool:
        """The request it was raised for ended unresolved (withdrawn, merged): so does the item, if
        still unresolved. The request's doing, not a command; False when it changes nothing."""
        if self.status not in UNRESOLVED:
            return False
        self.record(ev.FeedbackWithdrawn(feedback_id=self.id, subject_id=self.subject_id, reason=reason,
                                         withdrawn_at=now))
        return True

    def escalate_if_late(self, now: datetime) -> bool:
        """Handled means answered with an outcome; a complaint without one by its deadline escalates, once."""
        if self.kind not in ESCALATES or self.status not in UNRESOLVED or self.escalated:
            return False
        if self.respond_by is None or now < self.respond_by:
            return False
        self.record(ev.FeedbackEscalated(feedback_id=self.id, subject_id=self.subject_id,
                                         reason=f"{self.kind} not handled by {self.respond_by.isoformat()}",
                                         escalated_at=now))
        return True

    def when_FeedbackReceived(self, e: ev.FeedbackReceived) -> None:
        self.id, self.subject_id, self.kind, self.respond_by = e.feedback_id, e.subject_id, e.kind, e.respond_by
        self.request_id, self.text, self.given_by, self.received_at = e.request_id, e.text, e.given_by, e.received_at
        self.via = e.via

    def when_FeedbackAcknowledged(self, e: ev.FeedbackAcknowledged) -> None:
        self.status = "acknowledged"

    def when_FeedbackInvestigated(self, e: ev.FeedbackInvestigated) -> None:
        self.status = "investigating"

    def when_FeedbackResolved(self, e: ev.FeedbackResolved) -> None:
        self.status, self.outcome = "resolved", e.outcome
        self.resolved_at, self.within_deadline = e.resolved_at, e.within_deadline

    def when_FeedbackWithdrawn(self, e: ev.FeedbackWithdrawn) -> None:
        self.status = "withdrawn"

    def when_FeedbackEscalated(self, e: ev.FeedbackEscalated) -> None:
        self.escalated = True
