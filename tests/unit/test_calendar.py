"""Business-hours calendars: open intervals, holidays, timezones, DST and the SLA arithmetic on them."""
from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.calendar import END_OF_DAY, BusinessCalendar

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = ["09:00-17:00"]

LONDON_SPEC = {
    "name": "business",
    "timezone": "Europe/London",
    "hours": {
        "mon": ["09:00-17:00"],
        "tue": ["09:00-12:30", "13:30-17:00"],
        "wed": ["09:00-17:00"],
        "thu": ["09:00-17:00"],
        "fri": ["09:00-17:00"],
        "sat": [],
        "sun": [],
    },
    "holidays": ["2026-12-25", "2026-12-28"],
}
LONDON_CAL = BusinessCalendar.from_spec(LONDON_SPEC)
NEW_YORK_CAL = BusinessCalendar.from_spec(
    {"name": "ny", "timezone": "America/New_York", "hours": {d: WEEKDAYS for d in ("mon", "tue", "wed", "thu", "fri")}}
)
UTC_CAL = BusinessCalendar.from_spec(
    {"name": "utc", "timezone": "UTC", "hours": {d: WEEKDAYS for d in ("mon", "tue", "wed", "thu", "fri")}}
)
# Opens across midnight: 22:00-24:00 joins the next day's 00:00-06:00.
NIGHT_CAL = BusinessCalendar.from_spec(
    {
        "name": "night",
        "timezone": "Europe/London",
        "hours": {"mon": ["22:00-24:00"], "tue": ["00:00-06:00", "22:00-24:00"], "wed": ["00:00-06:00"]},
    }
)
# Sunday hours straddling the 01:00 UTC clock change in London, in two intervals that fold=0 makes overlap.
DST_SUNDAY_CAL = BusinessCalendar.from_spec(
    {"name": "dst", "timezone": "Europe/London", "hours": {"sun": ["00:30-01:45", "02:00-03:00"]}}
)
ALWAYS = BusinessCalendar.always_open()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# --- opening hours -------------------------------------------------------------------------------


def test_business_hours_skip_the_weekend():
    friday_afternoon = utc(2026, 1, 9, 16)
    assert LONDON_CAL.add_business_time(friday_afternoon, hours(2)) == utc(2026, 1, 12, 10)


def test_a_request_arriving_outside_hours_starts_the_clock_at_next_open():
    saturday = utc(2026, 1, 10, 12)
    assert LONDON_CAL.next_open(saturday) == utc(2026, 1, 12, 9)
    assert LONDON_CAL.add_business_time(saturday, hours(1)) == utc(2026, 1, 12, 10)
    wednesday_evening = utc(2026, 1, 7, 20)
    assert LONDON_CAL.add_business_time(wednesday_evening, hours(1)) == utc(2026, 1, 8, 10)
    wednesday_early = utc(2026, 1, 7, 6)
    assert LONDON_CAL.add_business_time(wednesday_early, hours(1)) == utc(2026, 1, 7, 10)


def test_next_open_returns_the_instant_itself_when_open():
    assert LONDON_CAL.next_open(utc(2026, 1, 5, 11, 15)) == utc(2026, 1, 5, 11, 15)


def test_open_intervals_include_their_start_and_exclude_their_end():
    assert LONDON_CAL.is_open(utc(2026, 1, 5, 9))
    assert LONDON_CAL.is_open(utc(2026, 1, 5, 16, 59, 59, 999999))
    assert not LONDON_CAL.is_open(utc(2026, 1, 5, 17))
    assert not LONDON_CAL.is_open(utc(2026, 1, 5, 8, 59, 59))
    assert not LONDON_CAL.is_open(utc(2026, 1, 10, 12))


def test_the_lunch_break_splits_the_day_into_two_intervals():
    tuesday_noon = utc(2026, 1, 6, 12)
    assert not LONDON_CAL.is_open(utc(2026, 1, 6, 13))
    assert LONDON_CAL.next_open(utc(2026, 1, 6, 12, 45)) == utc(2026, 1, 6, 13, 30)
    assert LONDON_CAL.add_business_time(tuesday_noon, hours(1)) == utc(2026, 1, 6, 14)
    assert LONDON_CAL.business_time_between(utc(2026, 1, 6), utc(2026, 1, 7)) == hours(7)


def test_a_deadline_landing_exactly_on_a_close_returns_the_close_not_the_next_opening():
    assert LONDON_CAL.add_business_time(utc(2026, 1, 5, 9), hours(8)) == utc(2026, 1, 5, 17)
    assert LONDON_CAL.add_business_time(utc(2026, 1, 6, 12), timedelta(minutes=30)) == utc(2026, 1, 6, 12, 30)
    assert LONDON_CAL.add_business_time(utc(2026, 1, 9, 9), hours(8)) == utc(2026, 1, 9, 17)


def test_zero_duration_returns_the_start_unchanged_even_when_closed():
    saturday = datetime(2026, 1, 10, 12, tzinfo=LONDON)
    result = LONDON_CAL.add_business_time(saturday, timedelta(0))
    assert result == saturday and result.tzinfo is UTC


def test_an_interval_ending_at_midnight_runs_on_into_the_next_days_interval():
    assert NIGHT_CAL.is_open(utc(2026, 1, 6, 0))
    assert NIGHT_CAL.add_business_time(utc(2026, 1, 5, 23, 30), hours(1)) == utc(2026, 1, 6, 0, 30)
    assert NIGHT_CAL.add_business_time(utc(2026, 1, 5, 22), hours(8)) == utc(2026, 1, 6, 6)
    assert NIGHT_CAL.business_time_between(utc(2026, 1, 5), utc(2026, 1, 8)) == hours(16)
    assert NIGHT_CAL.add_business_time(utc(2026, 1, 7, 5), hours(2)) == utc(2026, 1, 12, 23)


# --- holidays --------------------------------------------------------------------------------------


def test_a_holiday_is_closed_all_day():
    christmas = utc(2026, 12, 25, 11)
    assert not LONDON_CAL.is_open(christmas)
    assert LONDON_CAL.next_open(christmas) == utc(2026, 12, 29, 9)


def test_a_holiday_on_the_monday_after_a_weekend_is_skipped_too():
    christmas_eve_afternoon = utc(2026, 12, 24, 16)
    assert LONDON_CAL.add_business_time(christmas_eve_afternoon, hours(2)) == utc(2026, 12, 29, 10)
    assert LONDON_CAL.business_time_between(utc(2026, 12, 24), utc(2026, 12, 30)) == hours(8 + 7)


# --- timezones and DST -----------------------------------------------------------------------------


def test_a_new_york_calendar_reads_utc_input_in_new_york_wall_time():
    eight_am_eastern = utc(2026, 1, 5, 13)
    assert not NEW_YORK_CAL.is_open(eight_am_eastern)
    assert NEW_YORK_CAL.next_open(eight_am_eastern) == utc(2026, 1, 5, 14)
    assert NEW_YORK_CAL.add_business_time(utc(2026, 1, 5, 12), hours(8)) == utc(2026, 1, 5, 22)
    assert NEW_YORK_CAL.add_business_time(utc(2026, 1, 5, 21), hours(2)) == utc(2026, 1, 6, 15)


def test_results_are_utc_whatever_timezone_the_input_uses():
    tokyo = datetime(2026, 1, 6, 4, tzinfo=ZoneInfo("Asia/Tokyo"))  # 2026-01-05 19:00 UTC
    result = NEW_YORK_CAL.add_business_time(tokyo, hours(1))
    assert result == utc(2026, 1, 5, 20) and result.tzinfo is UTC
    assert NEW_YORK_CAL.next_open(tokyo).tzinfo is UTC
    assert NEW_YORK_CAL.add_business_days(tokyo, 1).tzinfo is UTC


def test_london_spring_forward_moves_the_opening_an_hour_earlier_in_utc():
    friday = utc(2026, 3, 27, 16)  # 16:00 GMT, an hour before close
    assert LONDON_CAL.add_business_time(friday, hours(2)) == utc(2026, 3, 30, 9)  # 10:00 BST
    assert LONDON_CAL.next_open(utc(2026, 3, 28)) == utc(2026, 3, 30, 8)


def test_the_day_after_spring_forward_is_still_eight_business_hours():
    monday = utc(2026, 3, 30)
    assert LONDON_CAL.business_time_between(monday, monday + hours(24)) == hours(8)
    assert LONDON_CAL.add_business_time(utc(2026, 3, 30, 8), hours(8)) == utc(2026, 3, 30, 16)


def test_london_fall_back_moves_the_opening_an_hour_later_in_utc():
    friday = utc(2026, 10, 23, 15)  # 16:00 BST, an hour before close
    assert LONDON_CAL.add_business_time(friday, hours(2)) == utc(2026, 10, 26, 10)  # 10:00 GMT
    assert LONDON_CAL.next_open(utc(2026, 10, 24)) == utc(2026, 10, 26, 9)


def test_new_york_spring_forward_and_fall_back_shift_the_utc_hours():
    assert NEW_YORK_CAL.add_business_time(utc(2026, 3, 6, 21), hours(2)) == utc(2026, 3, 9, 14)
    assert NEW_YORK_CAL.add_business_time(utc(2026, 10, 30, 20), hours(2)) == utc(2026, 11, 2, 15)


def test_hours_spanning_a_clock_change_count_real_elapsed_time():
    spec = {"name": "n", "timezone": "America/New_York", "hours": {"sun": ["00:00-06:00"]}}
    overnight = BusinessCalendar.from_spec(spec)
    assert overnight.business_time_between(utc(2026, 3, 7), utc(2026, 3, 9)) == hours(5)
    assert overnight.business_time_between(utc(2026, 10, 31), utc(2026, 11, 2)) == hours(7)
    assert overnight.add_business_time(utc(2026, 3, 8, 5), hours(4)) == utc(2026, 3, 8, 9)
    assert overnight.add_business_time(utc(2026, 11, 1, 4), hours(6.5)) == utc(2026, 11, 1, 10, 30)


def test_intervals_that_overlap_in_utc_after_a_gap_are_not_counted_twice():
    sunday = utc(2026, 3, 29)  # 00:30 GMT to 03:00 BST is 1.5 real hours
    assert DST_SUNDAY_CAL.business_time_between(sunday, sunday + hours(24)) == hours(1.5)
    assert DST_SUNDAY_CAL.add_business_time(sunday, hours(1.5)) == utc(2026, 3, 29, 2)
    fall_back = utc(2026, 10, 24, 12)  # fold=0 reads 01:45 as BST: 23:30-00:45 UTC, then 02:00-03:00 UTC
    assert DST_SUNDAY_CAL.business_time_between(fall_back, fall_back + hours(24)) == hours(2.25)


# --- business days ---------------------------------------------------------------------------------


def test_business_days_keep_the_time_of_day_and_skip_weekends():
    assert LONDON_CAL.add_business_days(utc(2026, 1, 5, 10, 30), 1) == utc(2026, 1, 6, 10, 30)
    assert LONDON_CAL.add_business_days(utc(2026, 1, 9, 10, 30), 1) == utc(2026, 1, 12, 10, 30)
    assert LONDON_CAL.add_business_days(utc(2026, 1, 5, 10, 30), 5) == utc(2026, 1, 12, 10, 30)


def test_business_days_start_the_clock_at_next_open():
    assert LONDON_CAL.add_business_days(utc(2026, 1, 10, 12), 1) == utc(2026, 1, 13, 9)
    assert LONDON_CAL.add_business_days(utc(2026, 1, 10, 12), 0) == utc(2026, 1, 12, 9)
    assert LONDON_CAL.add_business_days(utc(2026, 1, 5, 11), 0) == utc(2026, 1, 5, 11)


def test_business_days_clamp_to_the_target_days_last_close():
    short_friday = BusinessCalendar.from_spec(
        {"name": "sf", "timezone": "UTC", "hours": {"thu": ["09:00-17:00"], "fri": ["09:00-12:30"]}}
    )
    assert short_friday.add_business_days(utc(2026, 1, 8, 16, 30), 1) == utc(2026, 1, 9, 12, 30)
    assert short_friday.add_business_days(utc(2026, 1, 8, 10), 1) == utc(2026, 1, 9, 10)


def test_business_days_landing_in_a_lunch_break_clamp_back_to_the_break():
    assert LONDON_CAL.add_business_days(utc(2026, 1, 5, 12, 45), 1) == utc(2026, 1, 6, 12, 30)


def test_business_days_landing_before_a_late_opening_move_to_the_opening():
    late_tuesday = BusinessCalendar.from_spec(
        {"name": "lt", "timezone": "UTC", "hours": {"mon": ["09:00-17:00"], "tue": ["13:00-17:00"]}}
    )
    assert late_tuesday.add_business_days(utc(2026, 1, 5, 10), 1) == utc(2026, 1, 6, 13)


def test_business_days_skip_holidays_and_keep_local_time_across_dst():
    assert LONDON_CAL.add_business_days(utc(2026, 12, 24, 10), 1) == utc(2026, 12, 29, 10)
    assert LONDON_CAL.add_business_days(utc(2026, 3, 27, 10), 1) == utc(2026, 3, 30, 9)  # 10:00 BST
    assert NEW_YORK_CAL.add_business_days(utc(2026, 10, 30, 14), 1) == utc(2026, 11, 2, 15)  # 10:00 EST


def test_negative_business_days_or_durations_are_refused():
    with pytest.raises(ValueError, match="days"):
        LONDON_CAL.add_business_days(utc(2026, 1, 5, 10), -1)
    with pytest.raises(ValueError, match="duration"):
        LONDON_CAL.add_business_time(utc(2026, 1, 5, 10), -hours(1))


# --- business time between -------------------------------------------------------------------------


def test_business_time_between_skips_the_weekend():
    assert LONDON_CAL.business_time_between(utc(2026, 1, 9, 16), utc(2026, 1, 12, 10)) == hours(2)


def test_business_time_between_counts_partial_intervals_and_is_end_exclusive():
    assert LONDON_CAL.business_time_between(utc(2026, 1, 5, 10), utc(2026, 1, 5, 10, 20)) == timedelta(minutes=20)
    assert LONDON_CAL.business_time_between(utc(2026, 1, 5, 17), utc(2026, 1, 6, 9)) == timedelta(0)


def test_business_time_between_counts_dst_weeks_correctly():
    assert LONDON_CAL.business_time_between(utc(2026, 3, 27), utc(2026, 3, 31)) == hours(16)
    assert NEW_YORK_CAL.business_time_between(utc(2026, 10, 30), utc(2026, 11, 3)) == hours(16)


def test_business_time_between_is_zero_when_the_end_is_not_after_the_start():
    assert LONDON_CAL.business_time_between(utc(2026, 1, 5, 12), utc(2026, 1, 5, 10)) == timedelta(0)
    assert LONDON_CAL.business_time_between(utc(2026, 1, 5, 12), utc(2026, 1, 5, 12)) == timedelta(0)


def test_ten_thousand_business_hours_are_computed_day_by_day():
    start = utc(2026, 1, 5, 9)
    deadline = UTC_CAL.add_business_time(start, hours(10_000))
    assert deadline == utc(2026, 1, 9, 17) + timedelta(weeks=249)
    assert UTC_CAL.business_time_between(start, deadline) == hours(10_000)


# --- always open -----------------------------------------------------------------------------------


def test_an_always_open_calendar_counts_wall_clock_time():
    start = utc(2026, 3, 28, 22)
    assert ALWAYS.is_always_open and ALWAYS.name == "24x7"
    assert ALWAYS.is_open(utc(2026, 1, 10, 3)) and ALWAYS.next_open(start) == start
    assert ALWAYS.add_business_time(start, hours(10_000)) == start + hours(10_000)
    assert ALWAYS.add_business_days(start, 3) == start + hours(72)
    assert ALWAYS.business_time_between(start, start + hours(49)) == hours(49)


def test_a_local_calendar_open_all_day_every_day_is_always_open():
    all_day = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    london_24x7 = BusinessCalendar.from_spec({"name": "l", "timezone": "Europe/London", "hours": all_day})
    assert london_24x7.is_always_open
    assert london_24x7.to_spec() == {"name": "l", "timezone": "Europe/London", "always_open": True}
    assert london_24x7.business_time_between(utc(2026, 3, 28), utc(2026, 3, 30)) == hours(48)
    assert not LONDON_CAL.is_always_open


def test_a_calendar_with_holidays_is_not_always_open():
    all_day = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    spec = {"name": "h", "timezone": "UTC", "hours": all_day, "holidays": ["2026-12-25"]}
    calendar = BusinessCalendar.from_spec(spec)
    assert not calendar.is_always_open
    assert calendar.add_business_time(utc(2026, 12, 24, 23), hours(2)) == utc(2026, 12, 26, 1)
    assert BusinessCalendar.from_spec(calendar.to_spec()) == calendar


# --- spec ------------------------------------------------------------------------------------------


def test_the_spec_round_trips_through_json():
    assert LONDON_CAL.to_spec() == LONDON_SPEC
    assert BusinessCalendar.from_spec(json.loads(json.dumps(LONDON_CAL.to_spec()))) == LONDON_CAL
    assert LONDON_CAL.holidays == frozenset({date(2026, 12, 25), date(2026, 12, 28)})
    assert LONDON_CAL.hours[1] == ((time(9), time(12, 30)), (time(13, 30), time(17)))


def test_the_always_open_spec_round_trips():
    spec = {"name": "24x7", "timezone": "UTC", "always_open": True}
    assert ALWAYS.to_spec() == spec
    assert BusinessCalendar.from_spec(spec) == ALWAYS


def test_twenty_four_hundred_round_trips_as_end_of_day():
    assert NIGHT_CAL.hours[0] == ((time(22), END_OF_DAY),)
    assert NIGHT_CAL.to_spec()["hours"]["mon"] == ["22:00-24:00"]
    assert BusinessCalendar.from_spec(NIGHT_CAL.to_spec()) == NIGHT_CAL


def test_missing_weekdays_are_closed_and_intervals_are_sorted():
    spec = {"name": "s", "timezone": "UTC", "hours": {"wed": ["13:00-17:00", "09:00-12:00"]}}
    calendar = BusinessCalendar.from_spec(spec)
    assert calendar.hours[2] == ((time(9), time(12)), (time(13), time(17)))
    assert all(not calendar.hours[i] for i in (0, 1, 3, 4, 5, 6))
    assert calendar.to_spec()["hours"]["wed"] == ["09:00-12:00", "13:00-17:00"]


def with_hours(**days: list[str]) -> dict:
    return {"name": "bad", "timezone": "UTC", "hours": days}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (with_hours(monday=WEEKDAYS), "unknown weekday keys.*monday"),
        (with_hours(mon=["9-17"]), "mon: malformed interval '9-17'"),
        (with_hours(tue=["09:00 - 17:00"]), "tue: malformed interval"),
        (with_hours(wed=[900]), "wed: malformed interval 900"),
        (with_hours(thu=["25:00-26:00"]), "thu: malformed interval"),
        (with_hours(fri=["09:60-10:00"]), "fri: malformed interval"),
        (with_hours(sat=["09:00-24:30"]), "sat: malformed interval"),
        (with_hours(sun=["24:00-24:00"]), "sun: malformed interval"),
        (with_hours(mon=["17:00-09:00"]), "mon: interval 17:00-09:00 must start before it ends"),
        (with_hours(mon=["09:00-09:00"]), "mon: interval 09:00-09:00 must start before it ends"),
        (with_hours(tue=["09:00-12:00", "11:00-13:00"]), "tue: interval 11:00-13:00 overlaps"),
        (with_hours(tue=["09:00-24:00", "10:00-11:00"]), "tue: interval 10:00-11:00 overlaps"),
        ({**with_hours(mon=WEEKDAYS), "timezone": "Mars/Olympus_Mons"}, "unknown timezone 'Mars/Olympus_Mons'"),
        ({**with_hours(mon=WEEKDAYS), "timezone": "Europe"}, "unknown timezone 'Europe'"),
        ({**with_hours(mon=WEEKDAYS), "timezone": ""}, "unknown timezone ''"),
        ({"name": "bad", "hours": {"mon": WEEKDAYS}}, "unknown timezone None"),
        ({**with_hours(mon=WEEKDAYS), "holidays": ["2026-02-30"]}, "bad holiday date '2026-02-30'"),
        ({**with_hours(mon=WEEKDAYS), "holidays": ["Christmas"]}, "bad holiday date 'Christmas'"),
        ({**with_hours(mon=WEEKDAYS), "holidays": [20261225]}, "bad holiday date 20261225"),
        ({**with_hours(mon=WEEKDAYS), "holidays": "2026-12-25"}, "holidays must be a list"),
        (with_hours(), "no open time"),
        (with_hours(mon=[], sun=[]), "no open time"),
        ({**with_hours(mon=WEEKDAYS), "hours": ["mon 09:00-17:00"]}, "hours must map weekday keys"),
        ({**with_hours(mon=WEEKDAYS), "colour": "blue"}, "unknown spec keys.*colour"),
        ({**with_hours(mon=WEEKDAYS), "name": ""}, "name must be a non-empty string"),
        ({"name": "x", "timezone": "UTC", "always_open": True, "hours": {}}, "always_open spec cannot"),
        ({"name": "x", "timezone": "Nowhere/City", "always_open": True}, "unknown timezone"),
    ],
)
def test_from_spec_refuses_a_bad_spec_naming_the_bad_part(spec: dict, message: str):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_spec(spec)


def test_the_constructor_validates_too():
    with pytest.raises(ValueError, match="7 entries"):
        BusinessCalendar("short", "UTC", ((),) * 5 + (((time(9), time(17)),),))
    with pytest.raises(ValueError, match="no open time"):
        BusinessCalendar("closed", "UTC", ((),) * 7)


@pytest.mark.parametrize(
    "call",
    [
        lambda at: LONDON_CAL.is_open(at),
        lambda at: LONDON_CAL.next_open(at),
        lambda at: LONDON_CAL.add_business_time(at, hours(1)),
        lambda at: LONDON_CAL.add_business_days(at, 1),
        lambda at: LONDON_CAL.business_time_between(at, utc(2026, 2, 1)),
        lambda at: LONDON_CAL.business_time_between(utc(2026, 1, 1), at),
        lambda at: ALWAYS.add_business_time(at, hours(1)),
    ],
)
def test_naive_datetimes_are_refused(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2026, 1, 5, 10))


# --- properties ------------------------------------------------------------------------------------

PROPERTY_CALENDARS = [LONDON_CAL, NEW_YORK_CAL, NIGHT_CAL, DST_SUNDAY_CAL, UTC_CAL]


def random_instant(rng: random.Random) -> datetime:
    # Biased towards the 2026 clock changes so DST days are well covered.
    anchor = rng.choice([utc(2026, 1, 1), utc(2026, 3, 6), utc(2026, 3, 27), utc(2026, 10, 23), utc(2026, 10, 30)])
    return anchor + timedelta(seconds=rng.randrange(14 * 24 * 3600), microseconds=rng.randrange(1_000_000))


def random_duration(rng: random.Random) -> timedelta:
    kind = rng.random()
    if kind < 0.1:
        return timedelta(0)
    if kind < 0.3:
        return timedelta(minutes=rng.randrange(1, 8 * 60, 15))
    return timedelta(seconds=rng.randrange(1, 300 * 3600), microseconds=rng.randrange(1_000_000))


def test_business_time_between_inverts_add_business_time_for_random_inputs():
    rng = random.Random(20260105)
    for _ in range(600):
        calendar = rng.choice(PROPERTY_CALENDARS)
        start, duration = random_instant(rng), random_duration(rng)
        deadline = calendar.add_business_time(start, duration)
        assert deadline >= start
        assert calendar.business_time_between(start, deadline) == duration, (calendar.name, start, duration)


def test_add_business_time_is_monotonic_in_the_duration_for_random_inputs():
    rng = random.Random(42)
    for _ in range(100):
        calendar = rng.choice(PROPERTY_CALENDARS)
        start = random_instant(rng)
        durations = sorted(random_duration(rng) for _ in range(8))
        deadlines = [calendar.add_business_time(start, d) for d in durations]
        assert deadlines == sorted(deadlines), (calendar.name, start, durations)


def test_every_positive_deadline_lies_in_or_at_the_end_of_open_time_for_random_inputs():
    rng = random.Random(7)
    for _ in range(300):
        calendar = rng.choice(PROPERTY_CALENDARS)
        start, duration = random_instant(rng), random_duration(rng) + timedelta(microseconds=1)
        deadline = calendar.add_business_time(start, duration)
        just_before = deadline - timedelta(microseconds=1)
        assert calendar.is_open(just_before), (calendar.name, start, duration)
        assert calendar.next_open(start) <= just_before


@settings(max_examples=300, deadline=None)
@given(calendar=st.sampled_from([LONDON_CAL, NEW_YORK_CAL, UTC_CAL, NIGHT_CAL, DST_SUNDAY_CAL, ALWAYS]),
       start=st.datetimes(datetime(2026, 3, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),
       length=st.timedeltas(timedelta(0), timedelta(days=12)),
       share=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1))
def test_the_instant_at_a_share_of_the_open_time_is_that_share_added_as_business_time(calendar, start, length,
                                                                                       share):
    end = start + length
    expected = calendar.add_business_time(start, calendar.business_time_between(start, end) * share)
    assert calendar.instant_at_share(start, end, share) == expected
