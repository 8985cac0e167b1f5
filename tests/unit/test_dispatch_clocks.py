"""Dispatch's SLA clocks: business time against a budget, pauses that extend it, warnings and breaches."""
from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.dispatch.domain.clocks import SlaClock
from shared.calendar import BusinessCalendar
from shared.errors import Invalid, InvalidTransition

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
WEEKDAYS = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
UTC_CAL = BusinessCalendar.from_spec({"name": "utc", "timezone": "UTC", "hours": WEEKDAYS})
LONDON_CAL = BusinessCalendar.from_spec({"name": "london", "timezone": "Europe/London", "hours": WEEKDAYS})
ALWAYS = BusinessCalendar.always_open()
TICK = timedelta(microseconds=1)

# January 2026: Monday 5th .. Friday 9th, weekend 10th-11th, Monday 12th; 09:00-17:00 UTC is open.
MON, TUE, FRI, SAT, SUN, NEXT_MON, NEXT_TUE = 5, 6, 9, 10, 11, 12, 13


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def jan(day: int, hour: int, minute: int = 0) -> datetime:
    return utc(2026, 1, day, hour, minute)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def friday_clock() -> SlaClock:
    """4 business hours: Friday 15:00-17:00 and Monday 09:00-11:00."""
    return SlaClock.start("response", UTC_CAL, jan(FRI, 15), jan(NEXT_MON, 11))


def monday_clock(name: str = "resolution") -> SlaClock:
    """One business day: Monday 09:00-17:00."""
    return SlaClock.start(name, UTC_CAL, jan(MON, 9), jan(MON, 17))


# --- starting and counting -----------------------------------------------------------------------


def test_starting_a_clock_budgets_the_open_time_up_to_its_deadline():
    clock = friday_clock()
    assert clock.budget == hours(4)
    assert clock.deadline() == jan(NEXT_MON, 11)
    assert (clock.running, clock.paused, clock.stopped) == (True, False, False)


def test_used_counts_only_open_time_since_the_start():
    clock = friday_clock()
    assert clock.used(jan(FRI, 14)) == timedelta(0)
    assert clock.used(jan(FRI, 16)) == hours(1)
    assert clock.used(jan(SAT, 12)) == hours(2)
    assert clock.used(jan(NEXT_MON, 10)) == hours(3)


def test_datetimes_in_any_zone_are_kept_in_utc():
    clock = SlaClock.start("response", LONDON_CAL, datetime(2026, 3, 27, 15, tzinfo=LONDON), utc(2026, 3, 30, 9))
    assert clock.started_at == utc(2026, 3, 27, 15) and clock.started_at.tzinfo is UTC
    assert clock.pause(datetime(2026, 3, 30, 9, 30, tzinfo=LONDON)).paused_at == utc(2026, 3, 30, 8, 30)


def test_a_running_clock_goes_from_running_to_warning_to_breached_as_business_time_passes():
    clock = monday_clock()
    assert clock.warning_at() == jan(MON, 15)  # 75% of 8 h
    assert clock.status(jan(MON, 15) - TICK) == "running"
    assert clock.status(jan(MON, 15)) == "warning"
    assert clock.status(jan(MON, 17)) == "warning"  # the deadline itself is still in time
    assert clock.status(jan(MON, 23)) == "warning"  # closed: no business time passes overnight
    assert clock.status(jan(TUE, 9)) == "warning"
    assert clock.status(jan(TUE, 9) + TICK) == "breached"


def test_the_warning_share_is_configurable():
    clock = monday_clock()
    assert clock.warning_at(0.5) == jan(MON, 13)
    assert clock.status(jan(MON, 13), share=0.5) == "warning"
    assert clock.status(jan(MON, 13), share=0.9) == "running"
    with pytest.raises(ValueError, match="between 0 and 1"):
        clock.warning_at(1.5)


def test_a_deadline_at_an_opening_is_reported_as_the_close_before_it_and_breaches_only_after_it():
    # add_business_days lands on an opening; no open time separates it from Monday's close.
    clock = SlaClock.start("resolution", UTC_CAL, jan(SAT, 12), jan(NEXT_TUE, 9))
    assert clock.budget == hours(8)
    assert clock.deadline() == jan(NEXT_MON, 17)
    assert clock.status(jan(NEXT_TUE, 9)) == "warning"
    assert clock.status(jan(NEXT_TUE, 9) + TICK) == "breached"


# --- pauses --------------------------------------------------------------------------------------


def test_a_pause_over_the_weekend_outside_business_hours_adds_no_business_time():
    clock = friday_clock().pause(jan(FRI, 18)).resume(jan(NEXT_MON, 8))
    assert clock.paused_for == timedelta(0)
    assert clock.deadline() == jan(NEXT_MON, 11)
    assert clock.used(jan(NEXT_MON, 10)) == hours(3)


def test_a_pause_from_closed_time_into_open_time_counts_only_the_open_part():
    clock = friday_clock().pause(jan(SAT, 12)).resume(jan(NEXT_MON, 10))
    assert clock.paused_for == hours(1)
    assert clock.used(jan(NEXT_MON, 10)) == hours(2)
    assert clock.deadline() == jan(NEXT_MON, 12)


def test_the_deadline_moves_by_the_business_time_of_every_pause():
    clock = (
        monday_clock()
        .pause(jan(MON, 10)).resume(jan(MON, 11))  # 1 h
        .pause(jan(MON, 16)).resume(jan(TUE, 10))  # 1 h on Monday + 1 h on Tuesday
        .pause(jan(TUE, 11)).resume(jan(TUE, 11, 30))  # 30 min
    )
    assert clock.paused_for == hours(3.5)
    assert clock.deadline() == jan(TUE, 12, 30)
    assert clock.used(jan(TUE, 12, 30)) == hours(8)
    assert clock.status(jan(TUE, 12, 30)) == "warning"
    assert clock.status(jan(TUE, 12, 30) + TICK) == "breached"


def test_a_paused_clock_freezes_used_and_has_no_deadline_until_it_resumes():
    paused = monday_clock().pause(jan(MON, 11))
    assert (paused.running, paused.paused) == (False, True)
    assert paused.used(jan(MON, 11)) == paused.used(jan(FRI, 16)) == hours(2)
    assert paused.deadline() is None and paused.warning_at() is None
    assert paused.status(jan(FRI, 16)) == "paused"


def test_a_clock_paused_after_its_breach_still_reports_the_breach():
    paused = monday_clock().pause(jan(TUE, 10))
    assert paused.status(jan(TUE, 12)) == "breached"


def test_london_business_hours_follow_the_clocks_going_forward_across_a_pause():
    # Friday 27 March is GMT (open 09:00-17:00 UTC); Monday 30 March is BST (open 08:00-16:00 UTC).
    clock = SlaClock.start("response", LONDON_CAL, utc(2026, 3, 27, 15), utc(2026, 3, 30, 9))
    assert clock.budget == hours(3)  # Friday 15:00-17:00 and Monday 08:00-09:00 UTC
    assert clock.used(utc(2026, 3, 30, 8)) == hours(2)
    resumed = clock.pause(utc(2026, 3, 27, 16)).resume(utc(2026, 3, 30, 8, 30))
    assert resumed.paused_for == hours(1.5)
    assert resumed.deadline() == utc(2026, 3, 30, 10, 30)  # 11:30 BST
    assert resumed.deadline().astimezone(LONDON).hour == 11


def test_a_round_the_clock_calendar_counts_elapsed_time():
    start = utc(2026, 3, 29, 0, 30)  # London's clock change is irrelevant to a UTC 24x7 calendar
    clock = SlaClock.start("response", ALWAYS, start, start + hours(1))
    assert clock.used(start + timedelta(minutes=25)) == timedelta(minutes=25)
    resumed = clock.pause(start + timedelta(minutes=10)).resume(start + timedelta(minutes=40))
    assert resumed.paused_for == timedelta(minutes=30)
    assert resumed.deadline() == start + hours(1.5)
    assert resumed.used(start + timedelta(minutes=80)) == timedelta(minutes=50)


# --- zero budgets --------------------------------------------------------------------------------


def test_a_zero_budget_is_in_warning_at_its_start_and_breached_once_any_business_time_passes():
    clock = SlaClock.start("response", UTC_CAL, jan(MON, 10), jan(MON, 10))
    assert clock.budget == timedelta(0)
    assert clock.deadline() == clock.warning_at() == jan(MON, 10)
    assert clock.status(jan(MON, 10)) == "warning"
    assert clock.status(jan(MON, 10) + TICK) == "breached"
    assert clock.stop(jan(MON, 10)).status(jan(FRI, 9)) == "met"


def test_a_zero_budget_started_in_closed_time_breaches_when_the_calendar_opens():
    clock = SlaClock.start("response", UTC_CAL, jan(SAT, 12), jan(SAT, 12))
    assert clock.deadline() == jan(SAT, 12)
    assert clock.status(jan(SUN, 20)) == "warning"
    assert clock.status(jan(NEXT_MON, 9)) == "warning"
    assert clock.status(jan(NEXT_MON, 9) + TICK) == "breached"


def test_a_job_opened_after_its_deadline_gets_a_zero_budget():
    clock = SlaClock.start("response", UTC_CAL, jan(MON, 10), jan(MON, 9))
    assert clock.budget == timedelta(0)
    assert clock.status(jan(MON, 10, 1)) == "breached"


# --- stopping ------------------------------------------------------------------------------------


def test_stopping_in_time_is_met_and_freezes_used():
    stopped = monday_clock().stop(jan(MON, 16))
    assert (stopped.running, stopped.stopped) == (False, True)
    assert stopped.used(jan(FRI, 12)) == hours(7)
    assert stopped.status(jan(FRI, 12)) == "met"


def test_stopping_after_the_deadline_is_missed():
    stopped = monday_clock().stop(jan(TUE, 10))
    assert stopped.used(jan(FRI, 12)) == hours(9)
    assert stopped.status(jan(TUE, 10)) == "missed"


def test_stopping_exactly_at_the_deadline_is_met():
    assert monday_clock().stop(jan(MON, 17)).status(jan(TUE, 12)) == "met"


def test_stopping_a_paused_clock_closes_the_pause_first():
    stopped = monday_clock().pause(jan(MON, 11)).stop(jan(MON, 14))
    assert (stopped.paused, stopped.stopped, stopped.paused_at) == (False, True, None)
    assert stopped.paused_for == hours(3)
    assert stopped.used(jan(FRI, 12)) == hours(2)
    assert stopped.deadline() == jan(TUE, 12)
    assert stopped.status(jan(FRI, 12)) == "met"


def test_reopening_a_stopped_clock_counts_the_time_stopped_as_a_pause_and_keeps_the_budget():
    stopped = monday_clock().stop(jan(MON, 13))  # 4 h used of 8
    reopened = stopped.reopen(jan(TUE, 11))  # Monday 13-17 and Tuesday 09-11 stopped: 6 open hours
    assert (reopened.budget, reopened.paused_for, reopened.running) == (hours(8), hours(6), True)
    assert reopened.used(jan(TUE, 11)) == hours(4)
    assert reopened.deadline() == jan(TUE, 15) == UTC_CAL.add_business_time(jan(MON, 17), hours(6))


def test_reopening_before_the_stop_resumes_at_the_stop_and_only_a_stopped_clock_reopens():
    stopped = monday_clock().stop(jan(MON, 13))
    assert stopped.reopen(jan(MON, 12)) == replace(stopped, stopped_at=None)
    with pytest.raises(InvalidTransition, match="cannot reopen the resolution clock: it is running"):
        monday_clock().reopen(jan(MON, 12))


def test_transitions_return_new_clocks_and_leave_the_original_alone():
    clock = monday_clock()
    paused = clock.pause(jan(MON, 11))
    assert paused is not clock and clock.running and clock.paused_at is None


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prepare, action, message",
    [
        (lambda c: c.pause(jan(MON, 10)), lambda c: c.pause(jan(MON, 11)), "cannot pause the response clock: it is paused"),
        (lambda c: c.stop(jan(MON, 10)), lambda c: c.pause(jan(MON, 11)), "cannot pause the response clock: it is stopped"),
        (lambda c: c, lambda c: c.resume(jan(MON, 11)), "cannot resume the response clock: it is running"),
        (lambda c: c.stop(jan(MON, 10)), lambda c: c.resume(jan(MON, 11)), "cannot resume the response clock: it is stopped"),
        (lambda c: c.stop(jan(MON, 10)), lambda c: c.stop(jan(MON, 11)), "cannot stop the response clock: it is stopped"),
    ],
    ids=["pause-paused", "pause-stopped", "resume-running", "resume-stopped", "stop-stopped"],
)
def test_an_invalid_transition_names_the_clock_and_its_state(prepare, action, message):
    clock = prepare(monday_clock("response"))
    with pytest.raises(InvalidTransition, match=message):
        action(clock)


def test_a_transition_cannot_go_back_in_time():
    clock = monday_clock()
    with pytest.raises(Invalid, match="before the resolution clock started"):
        clock.pause(jan(MON, 8))
    with pytest.raises(Invalid, match="before the resolution clock started"):
        clock.stop(jan(MON, 8))
    with pytest.raises(Invalid, match="before the resolution clock paused"):
        clock.pause(jan(MON, 12)).resume(jan(MON, 11))


def test_naive_datetimes_and_unknown_clock_names_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        monday_clock().used(datetime(2026, 1, 5, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        monday_clock().pause(datetime(2026, 1, 5, 12))
    with pytest.raises(ValueError, match="clock name"):
        SlaClock.start("lunch", UTC_CAL, jan(MON, 9), jan(MON, 17))


# --- state ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clock",
    [
        SlaClock.start("response", LONDON_CAL, utc(2026, 3, 27, 15), utc(2026, 3, 30, 9)),
        SlaClock.start("response", LONDON_CAL, utc(2026, 3, 27, 15), utc(2026, 3, 30, 9))
        .pause(utc(2026, 3, 27, 16)).resume(utc(2026, 3, 30, 8, 30, 0, 250)).pause(utc(2026, 3, 30, 9)),
        SlaClock.start("resolution", ALWAYS, utc(2026, 3, 27, 15), utc(2026, 3, 28, 15)).stop(utc(2026, 3, 28)),
    ],
    ids=["running", "paused", "stopped"],
)
def test_state_round_trips_through_json(clock):
    state = json.loads(json.dumps(clock.to_state()))
    assert SlaClock.from_state(state) == clock


def test_state_holds_the_calendar_spec_and_durations_in_seconds():
    state = friday_clock().pause(jan(SAT, 12)).resume(jan(NEXT_MON, 10)).to_state()
    assert state["calendar"] == UTC_CAL.to_spec()
    assert (state["budget_seconds"], state["paused_for_seconds"]) == (14400, 3600)
    assert (state["started_at"], state["paused_at"], state["stopped_at"]) == ("2026-01-09T15:00:00+00:00", None, None)


def test_state_missing_a_key_is_refused_by_name():
    state = friday_clock().to_state()
    del state["budget_seconds"]
    with pytest.raises(ValueError, match="budget_seconds"):
        SlaClock.from_state(state)


# --- properties ----------------------------------------------------------------------------------


def random_instant(rng: random.Random, after: datetime, within: timedelta) -> datetime:
    return after + timedelta(minutes=rng.randrange(int(within.total_seconds() // 60) + 1))


def with_random_pauses(rng: random.Random, clock: SlaClock) -> SlaClock:
    """Up to four completed pauses at random minutes, in open or closed time, before or after the deadline."""
    cursor = clock.started_at
    for _ in range(rng.randrange(5)):
        cursor = random_instant(rng, cursor, timedelta(days=2))
        clock = clock.pause(cursor)
        cursor = random_instant(rng, cursor, timedelta(days=3))
        clock = clock.resume(cursor)
    return clock


@pytest.mark.parametrize("calendar", [UTC_CAL, LONDON_CAL, ALWAYS], ids=lambda c: c.name)
def test_for_random_pause_schedules_the_budget_is_used_up_exactly_at_the_extended_deadline(calendar):
    rng = random.Random(20260329)
    for _ in range(300):
        # Starts straddle London's clock change on 29 March 2026.
        start = random_instant(rng, utc(2026, 3, 23), timedelta(days=10))
        original = calendar.add_business_time(start, timedelta(minutes=rng.randrange(3 * 24 * 60)))
        clock = with_random_pauses(rng, SlaClock.start("resolution", calendar, start, original))
        deadline = clock.deadline()
        assert clock.used(deadline) == clock.budget
        assert deadline >= original
        assert calendar.business_time_between(original, deadline) == clock.paused_for
        assert clock.status(deadline) != "breached"
        assert clock.status(calendar.next_open(deadline) + TICK) == "breached"


@pytest.mark.parametrize("calendar", [UTC_CAL, LONDON_CAL], ids=lambda c: c.name)
def test_an_unpaused_clock_never_breaches_before_its_original_deadline_even_one_in_closed_time(calendar):
    rng = random.Random(7)
    for _ in range(300):
        start = random_instant(rng, utc(2026, 3, 23), timedelta(days=10))
        original = random_instant(rng, start, timedelta(days=4))
        clock = SlaClock.start("response", calendar, start, original)
        assert clock.status(original) != "breached"
        assert calendar.next_open(clock.deadline()) >= original


def test_used_never_decreases_and_stays_between_zero_and_the_elapsed_time():
    rng = random.Random(11)
    for _ in range(100):
        clock = with_random_pauses(rng, SlaClock.start("response", LONDON_CAL, utc(2026, 3, 25, 10), utc(2026, 3, 31)))
        if rng.random() < 0.5:
            clock = clock.pause(random_instant(rng, utc(2026, 4, 20), timedelta(days=2)))
        instants = sorted(random_instant(rng, utc(2026, 3, 24), timedelta(days=30)) for _ in range(20))
        used = [clock.used(at) for at in instants]
        assert used == sorted(used)
        assert all(timedelta(0) <= u <= max(timedelta(0), at - clock.started_at) for u, at in zip(used, instants, strict=True))
