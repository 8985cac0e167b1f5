"""Demand forecast: a seasonal level model with a weekday index, fitted per category.

For each category seen in the history window:

* level = mean daily count over the last `level_days` days of the window (the whole window if it
  is shorter), days with no requests counting as 0;
* weekday index w[d] = mean count on weekday d over the whole window / mean daily count over the
  whole window (1.0 when the category's overall mean is 0 or weekday d never occurs in the window);
* expected(day, category) = level * w[weekday(day)].

Workload is expected requests times average handle hours per category, and staff needed is that
workload divided by one person's productive hours, rounded up.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_HORIZON_DAYS = 90


@dataclass(frozen=True)
class ForecastDay:
    day: date
    weekday: str
    expected: dict[str, float]
    total: float
    workload_hours: float
    staff_needed: int


@dataclass(frozen=True)
class Forecast:
    method: str
    history_from: date
    history_to: date
    days: list[ForecastDay]


def describe_method(level_days: int, productive_hours_per_person: float) -> str:
    """The plain-English paragraph stored in `Forecast.method`."""
    return (
        "Seasonal level model with a weekday index, fitted separately for each category. "
        f"The level is the mean number of requests per day over the last {level_days} days of the "
        "history (or the whole history if it is shorter), with days that had no requests counted as zero. "
        "The weekday index for each day of the week is the mean count on that weekday across the whole "
        "history divided by the overall daily mean, so a weekday that is usually twice as busy gets an "
        "index of 2; it is 1 when the category had no requests or that weekday never occurs in the history. "
        "Each forecast day's expected count is the level times that day's weekday index. Workload is the "
        "expected count times the average handle hours per request for each category, and staff needed is "
        f"the workload divided by {productive_hours_per_person:g} productive hours per person, rounded up."
    )


def forecast(
    daily_counts: Mapping[tuple[date, str], int],
    *,
    history_from: date,
    history_to: date,
    start: date,
    horizon_days: int,
    handle_hours: Mapping[str, float],
    default_handle_hours: float = 1.0,
    productive_hours_per_person: float = 6.0,
    level_days: int = 28,
) -> Forecast:
    """Forecast requests per category, workload and staffing for `horizon_days` days from `start`,
    from per-day counts over the inclusive window `history_from`..`history_to` (missing days = 0)."""
    _validate(daily_counts, history_from, history_to, horizon_days, handle_hours, default_handle_hours,
              productive_hours_per_person, level_days)

    window_days = (history_to - history_from).days + 1
    level_window = min(level_days, window_days)
    level_from = history_to - timedelta(days=level_window - 1)
    weekday_days = [0] * 7
    for offset in range(min(window_days, 7)):
        first = history_from + timedelta(days=offset)
        weekday_days[first.weekday()] = (window_days - offset + 6) // 7

    # Only the days in the window are summed, so cost follows the data, not the window length.
    totals: dict[str, float] = defaultdict(float)
    level_sums: dict[str, float] = defaultdict(float)
    weekday_sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * 7)
    for (day, category), count in daily_counts.items():
        if not history_from <= day <= history_to:
            continue
        totals[category] += count
        weekday_sums[category][day.weekday()] += count
        if day >= level_from:
            level_sums[category] += count

    categories = sorted(totals)
    levels = {c: level_sums[c] / level_window for c in categories}
    indices = {c: _weekday_index(totals[c] / window_days, weekday_sums[c], weekday_days) for c in categories}

    days = []
    for offset in range(horizon_days):
        day = start + timedelta(days=offset)
        expected = {c: round(levels[c] * indices[c][day.weekday()], 2) for c in categories}
        # Derived figures use the rounded counts so a reader can recompute them from the output.
        workload = round(sum(n * handle_hours.get(c, default_handle_hours) for c, n in expected.items()), 2)
        days.append(ForecastDay(
            day=day,
            weekday=WEEKDAYS[day.weekday()],
            expected=expected,
            total=round(sum(expected.values()), 2),
            workload_hours=workload,
            # The inner round stops float noise (1.1 / 0.1 = 11.000000000000002) from adding a person.
            staff_needed=math.ceil(round(workload / productive_hours_per_person, 9)),
        ))
    return Forecast(describe_method(level_days, productive_hours_per_person), history_from, history_to, days)


def _weekday_index(overall_mean: float, sums: list[float], day_counts: list[int]) -> list[float]:
    if overall_mean == 0:
        return [1.0] * 7
    return [sums[d] / day_counts[d] / overall_mean if day_counts[d] else 1.0 for d in range(7)]


def _validate(daily_counts, history_from, history_to, horizon_days, handle_hours, default_handle_hours,
              productive_hours_per_person, level_days) -> None:
    if history_to < history_from:
        raise ValueError(f"history_to ({history_to}) is before history_from ({history_from})")
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ValueError(f"horizon_days must be between 1 and {MAX_HORIZON_DAYS}, got {horizon_days}")
    if productive_hours_per_person <= 0:
        raise ValueError(f"productive_hours_per_person must be positive, got {productive_hours_per_person}")
    if level_days < 1:
        raise ValueError(f"level_days must be at least 1, got {level_days}")
    if default_handle_hours < 0:
        raise ValueError(f"default_handle_hours must not be negative, got {default_handle_hours}")
    for category, hours in handle_hours.items():
        if hours < 0:
            raise ValueError(f"handle_hours for {category!r} must not be negative, got {hours}")
    for (day, category), count in daily_counts.items():
        if count < 0:
            raise ValueError(f"count for {category!r} on {day} must not be negative, got {count}")
