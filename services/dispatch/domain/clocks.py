"""SLA clocks for a job: business time counted against a budget, paused while the job waits. Pure.

A clock keeps only the total business time of its completed pauses, not each pause, so `used`,
`deadline`, `warning_at` and `status` describe the clock as of its latest transition onwards:
an instant before the latest resume is answered as if every pause so far had already happened.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from shared.calendar import BusinessCalendar
from shared.errors import Invalid, InvalidTransition

UTC = timezone.utc
CLOCK_NAMES = ("response", "resolution")
DEFAULT_WARNING_SHARE = 0.75
_ZERO = timedelta(0)
C = TypeVar("C", bound="SlaClock")


@dataclass(frozen=True)
class SlaClock:
    """One SLA clock ("response" or "resolution") running in a calendar's open time.

    `budget` is the business time allowed; `paused_for` the business time of completed pauses.
    The clock is breached once more than `budget` of unpaused business time has passed, so the
    deadline instant itself is still in time. Datetimes are stored in UTC.
    """

    name: str
    calendar: BusinessCalendar
    started_at: datetime
    budget: timedelta
    paused_for: timedelta = _ZERO
    paused_at: datetime | None = None
    stopped_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.name not in CLOCK_NAMES:
            raise ValueError(f"clock name must be one of {list(CLOCK_NAMES)}, got {self.name!r}")
        for field in ("started_at", "paused_at", "stopped_at"):
            if (value := getattr(self, field)) is not None:
                object.__setattr__(self, field, as_utc(value, field))
        if self.budget < _ZERO or self.paused_for < _ZERO:
            raise ValueError(f"{self.name} clock: budget and paused_for must not be negative")
        if self.paused_at is not None and self.stopped_at is not None:
            raise ValueError(f"{self.name} clock cannot be both paused and stopped")
        for field in ("paused_at", "stopped_at"):
            if (value := getattr(self, field)) is not None and value < self.started_at:
                raise ValueError(f"{self.name} clock: {field} {value.isoformat()} is before it started")

    @classmethod
    def start(cls, name: str, calendar: BusinessCalendar, started_at: datetime, deadline: datetime) -> SlaClock:
        """A running clock whose budget is the open time from `started_at` to `deadline`.

        A deadline at or before the start gives a zero budget: breached once any business time passes.
        """
        return cls(name, calendar, started_at, calendar.business_time_between(started_at, deadline))

    @property
    def running(self) -> bool:
        """Counting: neither paused nor stopped."""
        return not self.paused and not self.stopped

    @property
    def paused(self) -> bool:
        """Waiting on the customer or parts; business time is not counted."""
        return self.paused_at is not None

    @property
    def stopped(self) -> bool:
        """Met or missed for good; nothing more is counted."""
        return self.stopped_at is not None

    def pause(self, at: datetime) -> SlaClock:
        """Stop counting from `at` until `resume`."""
        self._refuse_unless(self.running, "pause")
        return replace(self, paused_at=self._not_before(at, self.started_at, "started"))

    def resume(self, at: datetime) -> SlaClock:
        """Count again from `at`; the pause's business time extends the deadline."""
        self._refuse_unless(self.paused, "resume")
        return replace(self, paused_for=self._paused_for_until(at), paused_at=None)

    def stop(self, at: datetime) -> SlaClock:
        """Freeze the clock at `at` (the SLA was met or missed); a paused clock's pause ends there."""
        self._refuse_unless(not self.stopped, "stop")
        if self.paused:
            return replace(self, paused_for=self._paused_for_until(at), paused_at=None, stopped_at=at)
        return replace(self, stopped_at=self._not_before(at, self.started_at, "started"))

    def reopen(self, at: datetime) -> SlaClock:
        """Count again from `at` after a stop that did not hold (a rejected resolution). The time
        stopped counts as a pause: the budget is not renewed, the deadline moves back by it. An
        `at` before the stop (clocks of other services may differ a little) resumes at the stop."""
        self._refuse_unless(self.stopped, "reopen")
        assert self.stopped_at is not None
        at = max(as_utc(at, "at"), self.stopped_at)
        return replace(self, paused_for=self.paused_for + self.calendar.business_time_between(self.stopped_at, at),
                       stopped_at=None)

    def retarget(self, calendar: BusinessCalendar, deadline: datetime) -> SlaClock:
        """The clock as a re-triage sets it: on `calendar`, with the open time there from its start
        to `deadline` as its budget, so its deadline is the triage's one. Pauses already counted
        stay counted (and still push the deadline back by their length)."""
        return replace(self, calendar=calendar, budget=calendar.business_time_between(self.started_at, deadline))

    def used(self, at: datetime) -> timedelta:
        """Business time counted against the budget up to `at`, pauses excluded; frozen while paused or stopped."""
        at = as_utc(at, "at")
        if (frozen_at := self.paused_at or self.stopped_at) is not None:
            at = min(at, frozen_at)
        # Clamped at zero: an instant before a completed pause cannot be told apart (see module doc).
        return max(_ZERO, self.calendar.business_time_between(self.started_at, at) - self.paused_for)

    def deadline(self) -> datetime | None:
        """The first instant at which `used` reaches the budget; None while paused (the pause's end is unknown)."""
        return self._when_used(self.budget)

    def warning_at(self, share: float = DEFAULT_WARNING_SHARE) -> datetime | None:
        """The first instant at which `used` reaches `share` of the budget; None while paused."""
        return self._when_used(share_of(self.budget, share))

    def status(self, at: datetime, share: float = DEFAULT_WARNING_SHARE) -> str:
        """One of "running", "warning", "breached", "paused", "met" or "missed" at `at`.

        A breach is final, so a paused clock that had already breached reports "breached".
        """
        used = self.used(self.stopped_at or at)
        if self.stopped:
            return "missed" if used > self.budget else "met"
        if used > self.budget:
            return "breached"
        if self.paused:
            return "paused"
        return "warning" if used >= share_of(self.budget, share) else "running"

    def to_state(self) -> dict:
        """JSON-ready state; `SlaClock.from_state(clock.to_state()) == clock`."""
        return {
            "name": self.name,
            "calendar": self.calendar.to_spec(),
            "started_at": self.started_at.isoformat(),
            "budget_seconds": self.budget.total_seconds(),
            "paused_for_seconds": self.paused_for.total_seconds(),
            "paused_at": _iso_or_none(self.paused_at),
            "stopped_at": _iso_or_none(self.stopped_at),
        }

    @classmethod
    def from_state(cls, state: dict) -> SlaClock:
        """Rebuild a clock from `to_state` output; raises ValueError naming a missing or bad key."""
        try:
            return cls(
                name=state["name"],
                calendar=BusinessCalendar.from_spec(state["calendar"]),
                started_at=datetime.fromisoformat(state["started_at"]),
                budget=timedelta(seconds=state["budget_seconds"]),
                paused_for=timedelta(seconds=state["paused_for_seconds"]),
                paused_at=_datetime_or_none(state["paused_at"]),
                stopped_at=_datetime_or_none(state["stopped_at"]),
            )
        except KeyError as missing:
            raise ValueError(f"clock state misses key {missing}") from None

    @property
    def _state_name(self) -> str:
        return "stopped" if self.stopped else "paused" if self.paused else "running"

    def _refuse_unless(self, allowed: bool, action: str) -> None:
        if not allowed:
            raise InvalidTransition(f"cannot {action} the {self.name} clock: it is {self._state_name}")

    def _not_before(self, at: datetime, earliest: datetime, what: str) -> datetime:
        at = as_utc(at, "at")
        if at < earliest:
            raise Invalid("at", f"{at.isoformat()} is before the {self.name} clock {what} ({earliest.isoformat()})")
        return at

    def _paused_for_until(self, at: datetime) -> timedelta:
        assert self.paused_at is not None
        at = self._not_before(at, self.paused_at, "paused")
        return self.paused_for + self.calendar.business_time_between(self.paused_at, at)

    def _when_used(self, amount: timedelta) -> datetime | None:
        if self.paused:
            return None
        # Pauses add open time to skip, so the instant is `amount` plus them after the start.
        return self.calendar.add_business_time(self.started_at, amount + self.paused_for)


def as_utc(at: datetime, field: str) -> datetime:
    if not isinstance(at, datetime) or at.utcoffset() is None:
        raise ValueError(f"{field} must be a timezone-aware datetime, got {at!r}")
    return at.astimezone(UTC)


def share_of(budget: timedelta, share: float) -> timedelta:
    if not 0 <= share <= 1:
        raise ValueError(f"warning share must be between 0 and 1, got {share}")
    return budget * share


def extended(cls: type[C], base: SlaClock, **more: object) -> C:
    """A clock of the subclass `cls` holding every field of `base`, and `more`: how a subclass's
    `from_state` adds its own keys to what its parent's rebuilt."""
    return cls(**{f.name: getattr(base, f.name) for f in fields(base)}, **more)


def _iso_or_none(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _datetime_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
