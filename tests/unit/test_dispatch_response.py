"""Issue 12, symptom 4: "response" means one thing, intake's first response (the acknowledgement).

Dispatch's response clock stops at intake's RequestAcknowledged, not at WorkStarted, and is judged
as intake judges it: met when acknowledged at or before `respond_by`, breached the moment
`respond_by` passes unanswered, warned when intake's queue flags it at risk, never paused (no wait
moves intake's `respond_by`). A request closed unanswered stops it too: nothing is owed any more.
"""
from __future__ import annotations

import json

import pytest

from services.dispatch.domain.model import Job
from services.dispatch.domain.response_clock import ResponseClock
from shared.clock import FrozenClock
from shared.contracts import dispatch as ev
from shared.errors import InvalidTransition
from tests.unit.test_dispatch_model import SHARE, T0, WEEKDAY_SPEC, hours, jan, job_data, job_in, moved, names


def response_timers(job: Job) -> dict:
    return {name: at for name, at in job.timers(SHARE).items() if name.startswith("response")}


def test_starting_work_leaves_the_response_clock_running_until_intake_acknowledges():
    clock = FrozenClock(T0)
    job = job_in("in_progress", clock)  # started at T0 + 2 min, nobody has answered the customer

    # Before: WorkStarted stopped it and said "met" though nobody had acknowledged the request.
    assert job.clocks["response"].status(clock.now()) == "running"
    assert response_timers(job) == {"response_warning": T0 + hours(3), "response_breach": T0 + hours(4)}

    job.responded(T0 + hours(1), moved(clock, T0 + hours(1)))

    (stopped,) = job.take_pending()
    assert isinstance(stopped, ev.ResponseClockStopped)
    assert (stopped.cause, stopped.stopped_at) == ("acknowledged", T0 + hours(1))
    assert job.clocks["response"].status(T0 + hours(9)) == "met" and response_timers(job) == {}


def test_an_acknowledgement_after_respond_by_is_missed_and_the_breach_before_it_escalates():
    clock = FrozenClock(T0)
    job = job_in("in_progress", clock)
    job.fire("response_breach", SHARE, moved(clock, T0 + hours(4)))
    assert names(job.take_pending()) == ["SlaBreached", "JobEscalated"]
    job.responded(T0 + hours(5), moved(clock, T0 + hours(5)))
    assert job.clocks["response"].status(clock.now()) == "missed"


def test_on_business_hours_the_response_is_judged_against_intakes_respond_by_on_the_wall_clock():
    # Received on a Saturday: intake's one open day runs Monday, so respond_by is Tuesday 09:00.
    saturday, tuesday_9 = jan(10, 10), jan(13, 9)
    job = Job.open(job_data(received_at=saturday, respond_by=tuesday_9, resolve_by=jan(15, 9), calendar=WEEKDAY_SPEC),
                   ["repair"], saturday)
    response = job.clocks["response"]
    # Before: the breach timer was Monday 17:00, where the 8 open hours run out, 16 h before intake's.
    assert (response.budget, response.deadline()) == (hours(8), tuesday_9)
    assert response_timers(job) == {"response_warning": jan(12, 15), "response_breach": tuesday_9}
    assert response.status(jan(12, 18)) == "warning"  # Monday evening: still in time for intake
    assert response.status(jan(13, 9, 1)) == "breached"

    job.responded(jan(12, 18), jan(12, 18))
    assert job.clocks["response"].status(jan(14, 9)) == "met"  # intake: within_target


def test_an_acknowledgement_in_closed_time_after_a_respond_by_at_the_close_is_missed_as_intake_says():
    friday_13, friday_17 = jan(9, 13), jan(9, 17)
    job = Job.open(job_data(received_at=friday_13, respond_by=friday_17, resolve_by=jan(13, 17), calendar=WEEKDAY_SPEC),
                   ["repair"], friday_13)
    job.responded(jan(10, 10), jan(10, 10))  # Saturday: no open time passed, but after respond_by
    assert job.clocks["response"].status(jan(12, 9)) == "missed"


def test_a_pause_on_the_work_pauses_only_the_resolution_clock():
    clock = FrozenClock(T0)
    job = job_in("paused", clock)
    # Before: the response clock had stopped at WorkStarted, so only resolution could pause.
    assert (job.clocks["response"].running, job.clocks["resolution"].paused) == (True, True)
    assert set(job.timers(SHARE)) == {"response_warning", "response_breach"}


def test_a_job_resolved_before_any_acknowledgement_still_owes_the_response_and_breaches_without_escalating():
    clock = FrozenClock(T0)
    job = job_in("resolved", clock)
    assert job.clocks["response"].running and job.clocks["resolution"].stopped
    job.fire("response_breach", SHARE, moved(clock, T0 + hours(4)))
    # Recorded for the reports; nobody to escalate a job no longer worked to.
    assert names(job.take_pending()) == ["SlaBreached"] and job.escalation is None


def test_a_request_closed_unanswered_stops_the_response_clock_as_unanswered_or_missed():
    clock = FrozenClock(T0)
    early = job_in("resolved", clock)
    early.closed_unanswered(T0 + hours(2), moved(clock, T0 + hours(2)))
    (stopped,) = early.take_pending()
    assert (stopped.cause, stopped.stopped_at) == ("closed", T0 + hours(2))
    assert early.clocks["response"].status(T0 + hours(9)) == "unanswered" and response_timers(early) == {}

    late = job_in("resolved", FrozenClock(T0))
    late.closed_unanswered(T0 + hours(6), T0 + hours(6))
    assert late.clocks["response"].status(T0 + hours(9)) == "missed"


def test_only_the_first_acknowledgement_counts_and_a_closure_after_it_changes_nothing():
    clock = FrozenClock(T0)
    job = job_in("allocated", clock)
    job.responded(T0 + hours(1), T0 + hours(1))
    job.take_pending()
    job.responded(T0 + hours(6), T0 + hours(6))  # acknowledged again after a reopening
    job.closed_unanswered(T0 + hours(7), T0 + hours(7))
    assert not job.changed and job.clocks["response"].status(T0 + hours(9)) == "met"


def test_a_job_rebuilt_from_its_events_has_the_same_response_clock():
    clock = FrozenClock(T0)
    job = Job.open(job_data(), ["repair"], clock.now())
    job.allocate("r1", "greedy", None, 1, "dispatch", None, clock.advance(minutes=5))
    job.start("r1", clock.advance(minutes=5))
    job.responded(T0 + hours(5), moved(clock, T0 + hours(5)))
    events = job.take_pending()
    rebuilt = Job.rehydrate(events, len(events))
    assert (rebuilt.clocks, rebuilt.timers(SHARE)) == (job.clocks, job.timers(SHARE))
    assert rebuilt.clocks["response"].status(T0 + hours(9)) == "missed"


def test_the_response_clock_refuses_a_pause_and_round_trips_through_its_state():
    clock = Job.open(job_data(), ["repair"], T0).clocks["response"]
    with pytest.raises(InvalidTransition, match="never pauses"):
        clock.pause(T0 + hours(1))
    for state in (clock, clock.answer(T0 + hours(1)), clock.stop(T0 + hours(5))):
        assert ResponseClock.from_state(json.loads(json.dumps(state.to_state()))) == state
