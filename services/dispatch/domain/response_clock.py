"""The response clock: intake's first response, judged as intake judges it. Pure.

The first response is intake's acknowledgement. Intake calls it in time when it comes at or before
the `respond_by` of the request's newest triage (RequestAcknowledged.within_target), flags it at
risk once 75 % of the window's open time is gone, and breached once `respond_by` has passed
unanswered. This clock follows that one definition, so dispatch's SlaWarning and SlaBreached
"response" and intake's answers never disagree: its deadline is `respond_by` itself (on the wall
clock, where the business-time SlaClock would put the breach where the open time runs out, e.g.
Monday 17:00 for a Tuesday 09:00 `respond_by`), and it never pauses (no wait on the work moves
`respond_by`). It stops when answered, or unanswered when the request ends (closed, withdrawn,
merged): then nothing is owed any more.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from services.dispatch.domain.clocks import DEFAULT_WARNING_SHARE, SlaClock, as_utc, share_of
from shared.calendar import BusinessCalendar
from shared.errors import InvalidTransition


@dataclass(frozen=True, kw_only=True)
class ResponseClock(SlaClock):
    due: datetime  # intake's respond_by
    answered: bool = False  # stopped by the acknowledgement (not by the request ending unanswered)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "due", as_utc(self.due, "due"))
        if self.paused_at is not None or self.paused_for:
            raise ValueError("the response clock never pauses")

    @classmethod
    def start(cls, name: str, calendar: BusinessCalendar, started_at: datetime, deadline: datetime) -> ResponseClock:
        return cls(name=name, calendar=calendar, started_at=started_at,
                   budget=calendar.business_time_between(started_at, deadline), due=deadline)

    def answer(self, at: datetime) -> ResponseClock:
        """The first response was given at `at`."""
        return replace(self.stop(at), answered=True)

    def pause(self, at: datetime) -> SlaClock:
        raise InvalidTransition("the response clock never pauses: no wait moves intake's respond_by")

    def reopen(self, at: datetime) -> SlaClock:
        raise InvalidTransition("the response clock is not reopened: a first response, once given, stays given")

    def retarget(self, calendar: BusinessCalendar, deadline: datetime) -> ResponseClock:
        return replace(self, calendar=calendar, budget=calendar.business_time_between(self.started_at, deadline),
                       due=deadline)

    def deadline(self) -> datetime:
        return self.due

    def status(self, at: datetime, share: float = DEFAULT_WARNING_SHARE) -> str:
        """"met" / "missed" once answered, by `respond_by`; "unanswered" when the request ended
        unanswered in time ("missed" after it); else "running", "warning" or "breached"."""
        if self.stopped_at is not None:
            if self.stopped_at > self.due:
                return "missed"
            return "met" if self.answered else "unanswered"
        if as_utc(at, "at") > self.due:
            return "breached"
        return "warning" if self.used(at) >= share_of(self.budget, share) else "running"

    def to_state(self) -> dict:
        return {**super().to_state(), "due": self.due.isoformat(), "answered": self.answered}

    @classmethod
    def from_state(cls, state: dict) -> ResponseClock:
        base = SlaClock.from_state(state)
        try:
            return cls(name=base.name, calendar=base.calendar, started_at=base.started_at, budget=base.budget,
                       stopped_at=base.stopped_at, due=datetime.fromisoformat(state["due"]), answered=state["answered"])
        except KeyError as missing:
            raise ValueError(f"clock state misses key {missing}") from None
