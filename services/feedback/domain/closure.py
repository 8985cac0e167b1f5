"""Closing the loop on one request: confirmation, closing (by the customer or by silence), survey."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.aggregate import Aggregate
from shared.contracts import feedback as ev
from shared.errors import Invalid, InvalidTransition

DIMENSIONS = ("reliability", "responsiveness", "assurance", "empathy", "tangibles")
LOW_CSAT = 2


@dataclass(frozen=True)
class FollowUpRule:
    """Which closed requests get a call-back, and how soon (configurable)."""

    priorities: frozenset[str] = frozenset({"P1"})
    kinds: frozenset[str] = frozenset({"complaint"})
    within: timedelta = timedelta(hours=24)

    def reason(self, priority: str | None, kind: str | None) -> str | None:
        if priority in self.priorities:
            return f"{priority} call-back"
        if kind in self.kinds:
            return f"{kind} call-back"
        return None


class Closure(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.request_id, self.status = "", "open"  # open | awaiting_confirmation | closed
        self.closes_at: datetime | None = None
        self.survey_id: str | None = None
        self.survey_expires: datetime | None = None
        self.survey_returned = False
        self.rejections = 0
        self.follow_up_due: datetime | None = None

    @classmethod
    def for_request(cls, request_id: str) -> "Closure":
        closure = cls()
        closure.request_id = request_id
        return closure

    def resolved(self, code: str, summary: str, wait: timedelta, now: datetime) -> None:
        if self.status == "closed":
            return  # resolved again after closing (a late event): nothing left to confirm
        self.record(ev.ConfirmationRequested(request_id=self.request_id, resolution_code=code, summary=summary,
                                             closes_at=now + wait, requested_at=now))

    def answer(self, accepted: bool, reason: str | None, by: str, survey_id: str, survey_ttl: timedelta,
               now: datetime, follow_up: tuple[str, timedelta] | None = None) -> None:
        if accepted:
            self.confirm(by, survey_id, survey_ttl, now, follow_up)
        else:
            self.reject(reason, by, now)

    def confirm(self, by: str, survey_id: str, survey_ttl: timedelta, now: datetime,
                follow_up: tuple[str, timedelta] | None = None) -> None:
        """The customer accepts the resolution: closed, a survey sent, and a call-back if called for."""
        self._require_awaiting()
        self.record(ev.ResolutionConfirmed(request_id=self.request_id, confirmed_by=by, confirmed_at=now))
        self._close("confirmed", survey_id, survey_ttl, now, follow_up)

    def reject(self, reason: str | None, by: str, now: datetime) -> None:
        """The customer rejects the resolution, saying why: the request goes back to work."""
        self._require_awaiting()
        if not reason or not reason.strip():
            raise Invalid("reason", "say why the resolution is rejected")
        self.record(ev.ResolutionRejected(request_id=self.request_id, reason=reason, rejected_by=by, rejected_at=now))

    def _require_awaiting(self) -> None:
        if self.status != "awaiting_confirmation":
            raise InvalidTransition(f"request {self.request_id} is {self.status}: there is no resolution to confirm")

    def close_unanswered(self, survey_id: str, survey_ttl: timedelta, now: datetime,
                         follow_up: tuple[str, timedelta] | None = None) -> bool:
        if self.status != "awaiting_confirmation" or self.closes_at is None or now < self.closes_at:
            return False
        self._close("auto", survey_id, survey_ttl, now, follow_up)
        return True

    def close_without_survey(self, how: str, now: datetime) -> None:
        if self.status != "closed":
            self.record(ev.RequestClosed(request_id=self.request_id, how=how, closed_at=now))

    def _close(self, how: str, survey_id: str, survey_ttl: timedelta, now: datetime,
               follow_up: tuple[str, timedelta] | None) -> None:
        self.record(ev.RequestClosed(request_id=self.request_id, how=how, closed_at=now))
        self.record(ev.SurveySent(request_id=self.request_id, survey_id=survey_id, expires_at=now + survey_ttl,
                                  sent_at=now))
        if follow_up is not None:
            reason, within = follow_up
            self.record(ev.FollowUpScheduled(request_id=self.request_id, reason=reason, due_at=now + within,
                                             scheduled_at=now))

    def return_survey(self, survey_id: str, csat: int, nps: int | None, dimensions: dict[str, int],
                      comment: str | None, follow_up_in: timedelta, now: datetime) -> None:
        if survey_id != self.survey_id:
            raise InvalidTransition("this survey link is not the one sent for the request")
        if self.survey_returned:
            raise InvalidTransition("this survey was answered already")
        if self.survey_expires is not None and now > self.survey_expires:
            raise InvalidTransition("this survey link has expired")
        unknown = set(dimensions) - set(DIMENSIONS)
        if unknown:
            raise Invalid("dimensions", f"unknown {sorted(unknown)}; known: {', '.join(DIMENSIONS)}")
        self.record(ev.SurveyReturned(request_id=self.request_id, survey_id=survey_id, csat=csat, nps=nps,
                                      dimensions=dimensions, comment=comment, returned_at=now))
        if csat <= LOW_CSAT:
            self.record(ev.FollowUpScheduled(request_id=self.request_id, reason=f"low satisfaction (CSAT {csat})",
                                             due_at=now + follow_up_in, scheduled_at=now))

    def complete_follow_up(self, outcome: str, by: str, now: datetime) -> None:
        if self.follow_up_due is None:
            raise InvalidTransition(f"request {self.request_id} has no follow-up to complete")
        self.record(ev.FollowUpCompleted(request_id=self.request_id, outcome=outcome, completed_by=by,
                                         completed_at=now))

    def when_ConfirmationRequested(self, e: ev.ConfirmationRequested) -> None:
        self.request_id, self.status, self.closes_at = e.request_id, "awaiting_confirmation", e.closes_at

    def when_ResolutionConfirmed(self, e: ev.ResolutionConfirmed) -> None:
        pass

    def when_ResolutionRejected(self, e: ev.ResolutionRejected) -> None:
        self.status, self.closes_at = "open", None
        self.rejections += 1

    def when_RequestClosed(self, e: ev.RequestClosed) -> None:
        self.request_id, self.status, self.closes_at = e.request_id, "closed", None

    def when_SurveySent(self, e: ev.SurveySent) -> None:
        self.survey_id, self.survey_expires = e.survey_id, e.expires_at

    def when_SurveyReturned(self, e: ev.SurveyReturned) -> None:
        self.survey_returned = True

    def when_FollowUpScheduled(self, e: ev.FollowUpScheduled) -> None:
        self.follow_up_due = e.due_at

    def when_FollowUpCompleted(self, e: ev.FollowUpCompleted) -> None:
        self.follow_up_due = None
