"""A clock with its owner's deadline: dispatch's clocks judged as intake judges them. Pure.

Intake sets each deadline as an instant (`respond_by`, `resolve_by`) and calls anything after it
late. A business-time `SlaClock` puts its deadline where the budget's open time runs out instead,
which is the same instant except when intake's falls at an opening or in closed time: a
`resolve_by` of Thursday 09:00 (3 open days from a Saturday) ran out at Wednesday 17:00, so
dispatch breached 16 hours early and the SLA report counted a miss; one of Friday 17:00 was still
"met" when resolved on Saturday. A `DueClock` keeps intake's instant as its deadline, moved back
only by the open time of its pauses, and judges met, missed and breached on the wall clock against
it. Budget, `used` and the warning stay business time: the warning comes when the share of open
time is gone, as intake's queue flags a request at risk.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from services.dispatch.domain.clocks import DEFAULT_WARNING_SHARE, SlaClock, as_utc, extended, share_of
from shared.calendar import BusinessCalendar


@dataclass(frozen=True, kw_only=True)
class DueClock(SlaClock):
    due: datetime  # the owner's deadline (intake's respond_by or resolve_by), before any pause

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "due", as_utc(self.due, "due"))

    @classmethod
    def start(cls, name: str, calendar: BusinessCalendar, started_at: datetime, deadline: datetime) -> DueClock:
        return cls(name=name, calendar=calendar, started_at=started_at,
                   budget=calendar.business_time_between(started_at, deadline), due=deadline)

    def retarget(self, calendar: BusinessCalendar, deadline: datetime) -> DueClock:
        return replace(super().retarget(calendar, deadline), due=as_utc(deadline, "deadline"))

    def deadline(self) -> datetime | None:
        """`due`, moved back by the open time of the completed pauses; None while paused."""
        return None if self.paused else self._due_after_pauses()

    def status(self, at: datetime, share: float = DEFAULT_WARNING_SHARE) -> str:
        """As `SlaClock.status`, but late means after the deadline instant, on the wall clock."""
        deadline = self._due_after_pauses()
        if self.stopped_at is not None:
            return "missed" if self.stopped_at > deadline else "met"
        if (self.paused_at or as_utc(at, "at")) > deadline:
            return "breached"  # a pause begun after the deadline does not undo the breach
        if self.paused:
            return "paused"
        return "warning" if self.used(at) >= share_of(self.budget, share) else "running"

    def to_state(self) -> dict:
        return {**super().to_state(), "due": self.due.isoformat()}

    @classmethod
    def from_state(cls, state: dict) -> DueClock:
        base = SlaClock.from_state(state)
        if "due" not in state:
            raise ValueError("clock state misses key 'due'")
        return extended(cls, base, due=datetime.fromisoformat(state["due"]))

    def _due_after_pauses(self) -> datetime:
        return self.calendar.add_business_time(self.due, self.paused_for) if self.paused_for else self.due
