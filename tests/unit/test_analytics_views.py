"""Per-group statistics of the reports, against the obvious one-group-at-a-time computation."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics.service_layer.statistics import counts, means, percentiles, sums
from services.analytics.service_layer.views import View, period_label

values = st.lists(st.tuples(st.integers(0, 4), st.one_of(st.none(), st.floats(-1e7, 1e7, allow_nan=False))),
                  max_size=200)


def view_of(pairs: list[tuple[int, float | None]], groups: int = 5) -> tuple[View, np.ndarray]:
    codes = np.array([g for g, _ in pairs], dtype=np.int64)
    vals = np.array([np.nan if v is None else v for _, v in pairs], dtype=np.float64)
    return View(np.arange(len(pairs)), codes, [f"g{i}" for i in range(groups)]), vals


def expected(vals: np.ndarray, q: float) -> float | None:
    present = vals[~np.isnan(vals)]
    return float(np.percentile(present, q * 100)) if len(present) else None


@settings(max_examples=200, deadline=None)
@given(values)
def test_percentiles_of_every_group_and_the_total_match_numpys_linear_percentile(pairs):
    view, vals = view_of(pairs)
    got = percentiles(view, vals)
    for g in range(5):
        for j, q in enumerate((0.5, 0.9)):
            want = expected(vals[view.groups == g], q)
            assert (got[g][j] is None) == (want is None)
            if want is not None:
                assert abs(got[g][j] - want) <= 1e-3 + 1e-9 * abs(want)  # order is kept to the millisecond
    for j, q in enumerate((0.5, 0.9)):  # the total is exact
        want = expected(vals, q)
        assert got[-1][j] == want or abs(got[-1][j] - want) <= 1e-9 * max(1.0, abs(want))


@settings(max_examples=100, deadline=None)
@given(values)
def test_counts_sums_and_means_per_group_add_up_to_the_total(pairs):
    view, vals = view_of(pairs)
    n, s, m = counts(view), sums(view, vals), means(view, vals)
    assert n[-1] == len(pairs) and n[:-1].sum() == len(pairs)
    assert abs(s[:-1].sum() - s[-1]) <= 1e-6 * max(1.0, abs(s[-1]))
    for g in range(5):
        present = vals[(view.groups == g) & ~np.isnan(vals)]
        assert (m[g] is None) == (len(present) == 0)


def test_without_grouping_there_is_only_the_total():
    view = View(np.arange(3), np.zeros(3, np.int64), [])
    assert list(counts(view)) == [3]
    assert percentiles(view, np.array([1.0, 2.0, 4.0])) == [[2.0, 3.6]]


def test_periods_are_labelled_by_day_iso_week_and_month():
    from datetime import date

    sunday = date(2027, 1, 3).toordinal()  # ISO week 53 of 2026
    assert period_label("day", sunday) == "2027-01-03"
    assert period_label("week", sunday) == "2026-W53"
    assert period_label("month", sunday) == "2027-01"


def test_an_unknown_report_time_zone_is_refused_when_the_service_is_configured():
    import pytest
    from pydantic import ValidationError

    from services.analytics.settings import AnalyticsSettings

    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        AnalyticsSettings(report_timezone="Mars/Olympus")
    assert AnalyticsSettings(report_timezone="Europe/London").report_timezone == "Europe/London"
