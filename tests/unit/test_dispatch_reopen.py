"""Issue 12, symptom 5: a rejected resolution reopens the job, and its resolution clock RESUMES.

The business time used before the resolution still counts (no fresh budget), and the time the job
spent resolved, awaiting the customer's confirmation, counts as a pause: so dispatch's resolution
deadline is intake's `resolve_by`, moved back by that wait (and by any other pause), as for every
pause. Who it goes back to is the service layer's rule (tests/api/test_dispatch_reopen.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.dispatch.domain.model import Job
from shared.calendar import BusinessCalendar
from shared.clock import FrozenClock
from shared.contracts import dispatch as ev
from tests.unit.test_dispatch_model import SHARE, T0, WEEKDAY_SPEC, hours, jan, job_data, moved, names

UTC = timezone.utc
WEEKDAYS = BusinessCalendar.from_spec(WEEKDAY_SPEC)


def resolution_timers(job: Job) -> dict[str, datetime]:
    return {name: at for name, at in job.timers(SHARE).items() if name.startswith("resolution")}


def resolved_job(clock: FrozenClock, resolved_at: datetime, warned_at: datetime | None = None) -> Job:
    """A P3 job on 24x7 (received T0, resolve by T0 + 24 h) that "r1" resolved at `resolved_at`."""
    job = Job.open(job_data(), ["repair"], clock.now())
    job.allocate("r1", "greedy", None, 1, "dispatch", None, clock.advance(minutes=5))
    job.start("r1", moved(clock, T0 + hours(1)))
    if warned_at is not None:
        job.fire("resolution_warning", SHARE, moved(clock, warned_at))
    job.resolve("r1", "fixed", "done", moved(clock, resolved_at))
    job.take_pending()
    return job


def test_a_reopened_job_resumes_its_resolution_clock_counting_the_time_used_and_pausing_while_awaiting_confirmation():
    clock = FrozenClock(T0)
    job = resolved_job(clock, T0 + hours(20), warned_at=T0 + hours(18))  # 20 h of 24 used
    rejected_at = T0 + hours(30)  # 10 h awaiting the customer's confirmation

    job.reopen("still leaking", rejected_at, moved(clock, rejected_at + timedelta(minutes=5)))

    (reopened,) = job.take_pending()
    assert isinstance(reopened, ev.JobReopened) and reopened.rejected_at == rejected_at
    assert ev.registry.type_of(reopened) == "servicetrail.dispatch.JobReopened.v2"
    assert (job.status, job.resource_id, job.holder, job.resolved_by) == ("open", None, None, "r1")
    clock_ = job.clocks["resolution"]
    # Before: a fresh clock from the reopening with the whole 24 h again, breaching at T0 + 54 h 05.
    assert (clock_.started_at, clock_.budget, clock_.paused_for, clock_.running) == (T0, hours(24), hours(10), True)
    assert clock_.used(rejected_at) == hours(20)
    assert clock_.deadline() == job.resolve_by + hours(10) == T0 + hours(34)
    # The warning already fired once; only the breach is still to come.
    assert resolution_timers(job) == {"resolution_breach": T0 + hours(34)}
    job.fire("resolution_breach", SHARE, moved(clock, T0 + hours(34)))
    breach, escalated = job.take_pending()
    assert (breach.clock, breach.deadline, escalated.level) == ("resolution", T0 + hours(34), "manager")


def test_on_business_hours_the_wait_for_confirmation_pauses_only_its_open_time():
    received = jan(5, 9)  # Monday; 12 open hours to Tuesday 13:00
    job = Job.open(job_data(received_at=received, respond_by=jan(5, 10), resolve_by=jan(6, 13),
                            calendar=WEEKDAY_SPEC), ["repair"], received)
    job.allocate("r1", "greedy", None, 1, "dispatch", None, jan(5, 9, 5))
    job.start("r1", jan(5, 9, 30))
    job.resolve("r1", "fixed", "done", jan(5, 15))  # 6 open hours used

    job.reopen("again", jan(9, 15), jan(9, 15, 1))  # rejected Friday 15:00: 32 open hours later

    resolution = job.clocks["resolution"]
    assert (resolution.budget, resolution.paused_for, resolution.used(jan(9, 15))) == (hours(12), hours(32), hours(6))
    # 6 h left: Friday 15-17, Monday 09-13. Intake's resolve_by, moved back by the 32 open hours.
    assert resolution.deadline() == jan(12, 13) == WEEKDAYS.add_business_time(job.resolve_by, hours(32))
    assert resolution_timers(job) == {"resolution_warning": jan(12, 10), "resolution_breach": jan(12, 13)}


def test_a_resolution_clock_breached_before_the_resolution_stays_breached_and_fires_nothing_again():
    clock = FrozenClock(T0)
    job = Job.open(job_data(), ["repair"], clock.now())
    job.allocate("r1", "greedy", None, 1, "dispatch", None, clock.advance(minutes=5))
    job.start("r1", moved(clock, T0 + hours(1)))
    job.fire("resolution_warning", SHARE, moved(clock, T0 + hours(18)))
    job.fire("resolution_breach", SHARE, moved(clock, T0 + hours(24)))
    job.resolve("r1", "fixed", "late", moved(clock, T0 + hours(26)))
    job.reopen("no", T0 + hours(27), moved(clock, T0 + hours(27)))
    assert resolution_timers(job) == {}
    assert job.clocks["resolution"].status(T0 + hours(28)) == "breached"


def test_a_rejection_dated_before_the_resolution_resumes_the_clock_from_the_resolution():
    # Other services' clocks may disagree a little: the wait is never negative.
    clock = FrozenClock(T0)
    job = resolved_job(clock, T0 + hours(20))
    job.reopen("no", T0 + hours(19), moved(clock, T0 + hours(20)))
    assert (job.clocks["resolution"].paused_for, job.clocks["resolution"].deadline()) == (hours(0), T0 + hours(24))


def test_a_job_reopened_rebuilds_from_its_events_to_the_same_clocks_and_resolver():
    clock = FrozenClock(T0)
    job = Job.open(job_data(), ["repair"], clock.now())
    job.allocate("r1", "greedy", None, 1, "dispatch", None, clock.advance(minutes=5))
    job.start("r1", clock.advance(hours=1))
    job.resolve("r1", "fixed", "done", clock.advance(hours=2))
    job.reopen("still broken", clock.advance(hours=3), clock.now())
    events = job.take_pending()
    rebuilt = Job.rehydrate(events, len(events))
    assert (rebuilt.clocks, rebuilt.resolved_by, rebuilt.status) == (job.clocks, "r1", "open")
    assert names(events)[-1] == "JobReopened"


def test_a_stored_v1_job_reopened_reads_as_rejected_when_it_was_reopened():
    v1 = {"request_id": "req-1", "reason": "still broken", "reopened_at": "2026-01-06T09:00:00+00:00"}
    upcast = ev.registry.decode("servicetrail.dispatch.JobReopened.v1", v1)
    assert upcast.rejected_at == upcast.reopened_at == datetime(2026, 1, 6, 9, tzinfo=UTC)
