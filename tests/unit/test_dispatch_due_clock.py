"""Dispatch's resolution deadline is intake's `resolve_by`, moved back only by the open time of the
job's waits (issue 12, symptoms 3 and 5: one deadline for both services).

A business-time clock puts the deadline where the budget's open time runs out, which for a
`resolve_by` at an opening (every out-of-hours request with a target in days: received Saturday,
3 open days, so Thursday 09:00) is the close before it, Wednesday 17:00: dispatch breached, and
the SLA report counted a miss, 16 hours before intake's deadline.
"""
from __future__ import annotations

import json

from services.dispatch.domain.due_clock import DueClock
from services.dispatch.domain.model import Job
from tests.unit.test_dispatch_model import SHARE, WEEKDAY_SPEC, hours, jan, job_data

SATURDAY, THURSDAY_9 = jan(10, 10), jan(15, 9)


def weekend_job() -> Job:
    """Received Saturday; intake: respond by Tuesday 09:00, resolve by Thursday 09:00 (3 open days)."""
    job = Job.open(job_data(received_at=SATURDAY, respond_by=jan(13, 9), resolve_by=THURSDAY_9,
                            calendar=WEEKDAY_SPEC), ["repair"], SATURDAY)
    job.allocate("r1", "greedy", None, 1, "dispatch", None, jan(12, 9))
    job.start("r1", jan(12, 9, 30))
    return job


def test_the_resolution_deadline_and_its_breach_are_intakes_resolve_by():
    job = weekend_job()
    resolution = job.clocks["resolution"]
    # Before: Wednesday 17:00, where the 24 open hours run out.
    assert (resolution.budget, resolution.deadline()) == (hours(24), THURSDAY_9)
    assert job.timers(SHARE)["resolution_breach"] == THURSDAY_9
    assert resolution.status(jan(14, 20)) == "warning"
    assert resolution.status(jan(15, 9, 1)) == "breached"


def test_resolved_on_wednesday_evening_is_met_as_intake_says_and_after_a_friday_close_it_is_missed():
    job = weekend_job()
    job.resolve("r1", "fixed", "done", jan(14, 18))
    assert job.clocks["resolution"].status(jan(16, 9)) == "met"

    friday = Job.open(job_data(received_at=jan(9, 13), respond_by=jan(9, 14), resolve_by=jan(9, 17),
                               calendar=WEEKDAY_SPEC), ["repair"], jan(9, 13))
    friday.allocate("r1", "greedy", None, 1, "dispatch", None, jan(9, 13))
    friday.start("r1", jan(9, 13, 5))
    friday.resolve("r1", "fixed", "on Saturday", jan(10, 10))  # no open time passed, but after resolve_by
    assert friday.clocks["resolution"].status(jan(12, 9)) == "missed"


def test_a_wait_moves_intakes_resolve_by_back_by_its_open_time():
    job = weekend_job()
    job.pause("parts", None, jan(12, 10))
    assert job.clocks["resolution"].deadline() is None  # unknown until the wait ends
    job.resume(jan(12, 11, 30))
    assert job.clocks["resolution"].deadline() == jan(15, 10, 30)
    assert job.timers(SHARE)["resolution_breach"] == jan(15, 10, 30)


def test_a_wait_that_began_after_the_deadline_leaves_the_clock_breached():
    job = weekend_job()
    job.pause("customer", None, jan(15, 12))
    assert job.clocks["resolution"].status(jan(15, 13)) == "breached"


def test_a_due_clock_round_trips_through_its_state():
    job = weekend_job()
    job.pause("parts", None, jan(12, 10))
    paused = job.clocks["resolution"]
    for clock in (paused, paused.resume(jan(12, 11)), paused.resume(jan(12, 11)).stop(jan(13, 9))):
        assert DueClock.from_state(json.loads(json.dumps(clock.to_state()))) == clock
