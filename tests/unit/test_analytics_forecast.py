"""Demand forecast: seasonal level with a weekday index, workload and staffing. Expected numbers are worked by hand."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.analytics.domain.forecast import Forecast, ForecastDay, forecast

MON = date(2024, 1, 1)  # a Monday; the four weeks to Sun 2024-01-28 are the usual history


def _days(first: date, last: date):
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _run(counts, **overrides) -> Forecast:
    kwargs = dict(
        history_from=MON, history_to=date(2024, 1, 28), start=date(2024, 1, 29), horizon_days=7, handle_hours={},
    )
    kwargs.update(overrides)
    return forecast(counts, **kwargs)


def _series(result: Forecast, category: str) -> list[float]:
    return [d.expected[category] for d in result.days]


def test_a_flat_history_gives_a_flat_forecast():
    counts = {(d, "network"): 3 for d in _days(MON, date(2024, 1, 28))}
    result = _run(counts)
    assert _series(result, "network") == [3.0] * 7
    assert [d.total for d in result.days] == [3.0] * 7


def test_forecast_days_run_from_start_for_the_horizon_with_weekday_names():
    result = _run({}, start=date(2024, 2, 1), horizon_days=10)
    assert [d.day for d in result.days] == _days(date(2024, 2, 1), date(2024, 2, 10))
    assert [d.weekday for d in result.days][:7] == ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    assert (result.history_from, result.history_to) == (MON, date(2024, 1, 28))


def test_a_weekday_pattern_is_carried_into_the_forecast():
    # Mondays 10, other days 5: weekly total 40, mean 40/7; Monday index 10/(40/7) = 1.75, others 0.875.
    # Level over the whole 28 days is 40/7, so Monday = 40/7 * 1.75 = 10 and other days = 40/7 * 0.875 = 5.
    counts = {(d, "access"): 10 if d.weekday() == 0 else 5 for d in _days(MON, date(2024, 1, 28))}
    result = _run(counts)
    assert result.days[0].weekday == "Mon"
    assert _series(result, "access") == [10.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]


def test_the_weekday_index_scales_a_recent_level():
    # Weeks 1-3: Mon 10, others 5; week 4: Mon 20, others 10. Whole window: Monday mean 50/4 = 12.5, other
    # weekdays 25/4 = 6.25, overall 200/28 = 50/7, so indices 1.75 and 0.875. Level over the last 7 days is
    # 80/7, giving Monday 80/7 * 1.75 = 20 and other days 80/7 * 0.875 = 10.
    counts = {}
    for d in _days(MON, date(2024, 1, 28)):
        base = 10 if d >= date(2024, 1, 22) else 5
        counts[(d, "access")] = 2 * base if d.weekday() == 0 else base
    result = _run(counts, level_days=7)
    assert _series(result, "access") == [20.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]


def test_the_level_uses_only_the_last_level_days_of_the_history():
    # Three weeks at 2 a day then a week at 6: every weekday averages 3, so every index is 1.
    counts = {(d, "email"): 6 if d >= date(2024, 1, 22) else 2 for d in _days(MON, date(2024, 1, 28))}
    assert _series(_run(counts, level_days=7), "email") == [6.0] * 7
    assert _series(_run(counts, level_days=14), "email") == [4.0] * 7
    assert _series(_run(counts), "email") == [3.0] * 7


def test_a_level_window_longer_than_the_history_uses_the_whole_history():
    counts = {(d, "email"): 6 if d >= date(2024, 1, 22) else 2 for d in _days(MON, date(2024, 1, 28))}
    assert _series(_run(counts, level_days=100), "email") == [3.0] * 7


def test_missing_days_count_as_zero():
    # Two weeks with 7 requests on each Monday only: overall mean 14/14 = 1, Monday index 7, others 0.
    # The last 7 days hold one Monday, so the level is 7/7 = 1.
    counts = {(MON, "access"): 7, (date(2024, 1, 8), "access"): 7}
    result = _run(counts, history_to=date(2024, 1, 14), start=date(2024, 1, 15), level_days=7)
    assert _series(result, "access") == [7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_a_weekday_absent_from_the_history_gets_an_index_of_one():
    # Mon 2, Tue 4, Wed 6: mean and level 4; indices Mon 0.5, Wed 1.5, Thu..Sun never seen so 1.
    counts = {(MON, "x"): 2, (date(2024, 1, 2), "x"): 4, (date(2024, 1, 3), "x"): 6}
    result = _run(counts, history_to=date(2024, 1, 3), start=date(2024, 1, 4))
    assert [d.weekday for d in result.days] == ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    assert _series(result, "x") == [4.0, 4.0, 4.0, 4.0, 2.0, 4.0, 6.0]


def test_expected_counts_are_rounded_to_two_decimals():
    # One request in three days: level 1/3, and Thursday never occurs so its index is 1.
    result = _run({(MON, "x"): 1}, history_to=date(2024, 1, 3), start=date(2024, 1, 4), horizon_days=1)
    assert result.days[0].expected == {"x": 0.33}
    assert result.days[0].total == 0.33


def test_a_category_with_only_zero_counts_is_forecast_as_zero_and_needs_no_staff():
    counts = {(d, "quiet"): 0 for d in _days(MON, date(2024, 1, 28))}
    day = _run(counts, horizon_days=1).days[0]
    assert (day.expected, day.total, day.workload_hours, day.staff_needed) == ({"quiet": 0.0}, 0.0, 0.0, 0)


def test_counts_outside_the_history_window_are_ignored():
    counts = {(d, "x"): 2 for d in _days(MON, date(2024, 1, 28))}
    counts[(date(2023, 12, 31), "x")] = 500
    counts[(date(2024, 1, 29), "y")] = 500
    result = _run(counts)
    assert all(d.expected == {"x": 2.0} for d in result.days)


def test_categories_are_listed_in_sorted_order_and_totalled():
    counts = {}
    for d in _days(MON, date(2024, 1, 28)):
        counts[(d, "software")] = 1
        counts[(d, "access")] = 2
        counts[(d, "hardware")] = 4
    day = _run(counts, horizon_days=1).days[0]
    assert list(day.expected) == ["access", "hardware", "software"]
    assert day.total == 7.0


def test_staff_needed_rounds_workload_up_using_per_category_and_default_handle_hours():
    # hardware 3 * 2.5 + access 4 * 0.5 + other 1 * default 1.0 = 10.5 hours; 10.5 / 6 = 1.75 -> 2 people.
    counts = {}
    for d in _days(MON, date(2024, 1, 28)):
        counts[(d, "hardware")] = 3
        counts[(d, "access")] = 4
        counts[(d, "other")] = 1
    hours = {"hardware": 2.5, "access": 0.5}
    day = _run(counts, handle_hours=hours, horizon_days=1).days[0]
    assert (day.workload_hours, day.staff_needed) == (10.5, 2)

    day = _run(counts, handle_hours=hours, default_handle_hours=3.0, horizon_days=1).days[0]
    assert (day.workload_hours, day.staff_needed) == (12.5, 3)  # 12.5 / 6 = 2.08 -> 3

    day = _run(counts, handle_hours=hours, productive_hours_per_person=3.5, horizon_days=1).days[0]
    assert day.staff_needed == 3  # 10.5 / 3.5 is exactly 3, so no extra person


def test_float_noise_does_not_add_a_person():
    # 11 requests at 0.1 hours = 1.1 hours; 1.1 / 0.1 is 11.000000000000002 in floating point.
    counts = {(d, "x"): 11 for d in _days(MON, date(2024, 1, 28))}
    day = _run(counts, handle_hours={"x": 0.1}, productive_hours_per_person=0.1, horizon_days=1).days[0]
    assert (day.workload_hours, day.staff_needed) == (1.1, 11)


def test_an_empty_history_gives_empty_days_with_no_staff():
    result = _run({}, horizon_days=3)
    assert len(result.days) == 3
    assert all(d == ForecastDay(d.day, d.weekday, {}, 0.0, 0.0, 0) for d in result.days)


def test_the_method_is_described_in_plain_english():
    method = _run({}, level_days=14).method
    assert "weekday index" in method and "last 14 days" in method and "rounded up" in method


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(history_from=date(2024, 1, 28), history_to=MON), "history_to"),
        (dict(horizon_days=0), "horizon_days"),
        (dict(horizon_days=91), "horizon_days"),
        (dict(productive_hours_per_person=0), "productive_hours_per_person"),
        (dict(productive_hours_per_person=-2.0), "productive_hours_per_person"),
        (dict(level_days=0), "level_days"),
        (dict(handle_hours={"x": -1.0}), "handle_hours"),
        (dict(default_handle_hours=-1.0), "default_handle_hours"),
    ],
)
def test_invalid_arguments_are_refused_with_a_message_naming_them(overrides, message):
    with pytest.raises(ValueError, match=message):
        _run({}, **overrides)


def test_a_negative_count_is_refused_naming_the_category_and_day():
    with pytest.raises(ValueError, match=r"'access' on 2024-01-05 must not be negative"):
        _run({(date(2024, 1, 5), "access"): -1})


def test_the_horizon_limits_are_inclusive():
    assert len(_run({}, horizon_days=1).days) == 1
    assert len(_run({}, horizon_days=90).days) == 90
