"""The one source of "now" for every time rule, so tests advance time instead of sleeping."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
        if self._now.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant


class ScaledClock:
    """Simulated time for `servicetrail demo`: it runs from `start` at `rate` times real speed,
    counted from the Unix instant `anchor`, and stands still at `end`. Every process given the
    same four values reads the same instant (they share the machine's wall clock), so the services
    and the demo's simulated desk agree on "now" without talking to each other."""

    def __init__(self, start: datetime, rate: float, anchor: float | None = None,
                 end: datetime | None = None) -> None:
        if start.tzinfo is None or (end is not None and end.tzinfo is None):
            raise ValueError("ScaledClock needs timezone-aware instants")
        if rate <= 0:
            raise ValueError("ScaledClock's rate must be positive")
        self.start, self.rate, self.end = start, rate, end
        self.anchor = time.time() if anchor is None else anchor

    def now(self) -> datetime:
        elapsed = (time.time() - self.anchor) * self.rate
        if self.end is not None:  # capped before adding: far past its end, the sum would overflow
            elapsed = min(elapsed, (self.end - self.start).total_seconds())
        return self.start + timedelta(seconds=elapsed)

    def real_seconds(self, simulated: timedelta) -> float:
        """How long, in real seconds, `simulated` time takes to pass on this clock."""
        return simulated.total_seconds() / self.rate


class SimulatedTime(Protocol):
    clock_start: datetime | None
    clock_rate: float
    clock_anchor: float | None
    clock_end: datetime | None


def clock_from(settings: SimulatedTime) -> Clock:
    """The system clock, unless the settings ask for simulated time (CLOCK_START: the demo)."""
    if settings.clock_start is None:
        return SystemClock()
    return ScaledClock(settings.clock_start, settings.clock_rate, settings.clock_anchor, settings.clock_end)
