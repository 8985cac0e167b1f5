"""The response clock: intake's first response, judged as intake judges it. Pure.

The first response is intake's acknowledgement. Intake calls it in time when it comes at or before
the `respond_by` of the request's newest triage (RequestAcknowledged.within_target), flags it at
risk once 75 % of the window's open time is gone, and breached once `respond_by` has passed
unanswered. This clock follows that one definition, so dispatch's SlaWarning and SlaBreached
"response" and intake's answers never disagree: a `DueClock` whose deadline is `respond_by`
itself, judged on the wall clock (`due_clock.py`), and which never pauses (no wait on the work
moves `respond_by`). It stops when answered, or unanswered when the request ends (closed, withdrawn,
merged): then nothing is owed any more.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from services.dispatch.domain.clocks import DEFAULT_WARNING_SHARE, SlaClock, extended
from services.dispatch.domain.due_clock import DueClock
from shared.errors import InvalidTransition


@dataclass(frozen=True, kw_only=True)
class ResponseClock(DueClock):
    answered: bool = False  # stopped by the acknowledgement (not by the request ending unanswered)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.paused_at is not None or self.paused_for:
            raise ValueError("the response clock never pauses")

    def answer(self, at: datetime) -> ResponseClock:
        """The first response was given at `at`."""
        return replace(self.stop(at), answered=True)

    def pause(self, at: datetime) -> SlaClock:
        raise InvalidTransition("the response clock never pauses: no wait moves intake's respond_by")

    def reopen(self, at: datetime) -> SlaClock:
        raise InvalidTransition("the response clock is not reopened: a first response, once given, stays given")

    def status(self, at: datetime, share: float = DEFAULT_WARNING_SHARE) -> str:
        """As `DueClock.status`, with "unanswered" for a request that ended in time with no response
        (nothing is owed any more; after `respond_by` it is "missed")."""
        status = super().status(at, share)
        return "unanswered" if status == "met" and not self.answered else status

    def to_state(self) -> dict:
        return {**super().to_state(), "answered": self.answered}

    @classmethod
    def from_state(cls, state: dict) -> ResponseClock:
        due = DueClock.from_state(state)
        if "answered" not in state:
            raise ValueError("clock state misses key 'answered'")
        return extended(cls, due, answered=state["answered"])
