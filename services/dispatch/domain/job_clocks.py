"""The two SLA clocks of one job, and what each fact of the job does to them. Pure.

Both run on the calendar intake recorded, from when the request was received, against intake's
deadlines (`Terms`), which are their deadlines too (`due_clock.py`). "response" is intake's first response (`response_clock.py`): it stops at
intake's acknowledgement, whatever the work does, and never pauses. "resolution" is the work's:
it pauses while the work waits and stops at IssueResolved. A stopped clock was met or missed on
the terms of its time: no later fact moves it, except a rejected resolution, which takes the
resolution clock up again. No clock stops at WorkStarted: how long work took to start is the
`start` stage of analytics' stages report, not an SLA.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, TypeVar

from services.dispatch.domain.clocks import CLOCK_NAMES, SlaClock
from services.dispatch.domain.due_clock import DueClock
from services.dispatch.domain.response_clock import ResponseClock
from services.dispatch.domain.terms import Terms

C = TypeVar("C", bound=SlaClock)


@dataclass(frozen=True)
class JobClocks(Mapping[str, SlaClock]):
    """`clocks["response"]`, `clocks["resolution"]`; each method answers the clocks after a fact."""

    response: ResponseClock
    resolution: DueClock

    @classmethod
    def opened(cls, terms: Terms, received_at: datetime) -> JobClocks:
        return cls(ResponseClock.start("response", terms.calendar, received_at, terms.respond_by),
                   DueClock.start("resolution", terms.calendar, received_at, terms.resolve_by))

    def retarget(self, terms: Terms) -> JobClocks:
        """A re-triage: the clocks not yet stopped move to its calendar and deadlines, so dispatch's
        deadlines are intake's."""
        return replace(
            self, response=_unless_stopped(self.response, lambda c: c.retarget(terms.calendar, terms.respond_by)),
            resolution=_unless_stopped(self.resolution, lambda c: c.retarget(terms.calendar, terms.resolve_by)))

    def responded(self, at: datetime) -> JobClocks:
        """Intake acknowledged the request at `at`: the first response."""
        return replace(self, response=_unless_stopped(self.response, lambda c: c.answer(at)))

    def ended_unanswered(self, at: datetime) -> JobClocks:
        """The request ended (closed) at `at` with no response given: none is owed any more."""
        return replace(self, response=_unless_stopped(self.response, lambda c: c.stop(at)))

    def waiting(self, at: datetime) -> JobClocks:
        """The work waits on the customer or parts."""
        return replace(self, resolution=_unless_stopped(self.resolution, lambda c: c.pause(at) if c.running else c))

    def wait_over(self, at: datetime) -> JobClocks:
        """Work resumed, or the job went to someone else (a reassignment ends a wait)."""
        return replace(self, resolution=_unless_stopped(self.resolution, lambda c: c.resume(at) if c.paused else c))

    def resolved(self, at: datetime) -> JobClocks:
        # The response stays owed: resolving the work is not intake's answer to the customer.
        return replace(self, resolution=_unless_stopped(self.resolution, lambda c: c.stop(at)))

    def released(self, at: datetime) -> JobClocks:
        """The request was withdrawn or merged: nothing more is owed on either clock."""
        return replace(self, **{name: _unless_stopped(clock, lambda c: c.stop(at)) for name, clock in self.items()})

    def reopened(self, rejected_at: datetime) -> JobClocks:
        """The customer rejected the resolution at `rejected_at`: the resolution clock resumes from
        there with the time it had used, and the wait for their answer counts as a pause."""
        resolution = self.resolution.reopen(rejected_at) if self.resolution.stopped else self.resolution
        return replace(self, resolution=resolution)

    def timers(self, share: float, fired: set[str]) -> dict[str, datetime]:
        """When each running clock warns and breaches, leaving out what already fired."""
        due: dict[str, datetime] = {}
        for name, clock in self.items():
            if clock.running:
                if f"{name}_warning" not in fired and (at := clock.warning_at(share)) is not None:
                    due[f"{name}_warning"] = at
                if f"{name}_breach" not in fired and (at := clock.deadline()) is not None:
                    due[f"{name}_breach"] = at
        return due

    def __getitem__(self, name: str) -> SlaClock:
        if name not in CLOCK_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(CLOCK_NAMES)

    def __len__(self) -> int:
        return len(CLOCK_NAMES)


def _unless_stopped(clock: C, change: Callable[[C], C]) -> C:
    return clock if clock.stopped else change(clock)
