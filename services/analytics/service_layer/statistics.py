"""Statistics per group and in total, for all groups at once: bincount for counts, sums and means,
one sort for percentiles. Percentiles interpolate linearly between order statistics, as
PostgreSQL's `percentile_cont` and numpy's default do.
"""
from __future__ import annotations

import numpy as np

from services.analytics.service_layer.views import View


def counts(view: View, mask: np.ndarray | None = None) -> np.ndarray:
    """Rows per group (where `mask`, over the view's rows, holds), then the total."""
    n = len(view.labels)
    weights = None if mask is None else mask.astype(np.float64)
    per = np.bincount(view.groups, weights=weights, minlength=n)[:n]
    return np.append(per, len(view.rows) if mask is None else float(mask.sum()))


def sums(view: View, values: np.ndarray) -> np.ndarray:
    """Sum of the non-missing values per group, then the total."""
    clean = np.nan_to_num(values)
    per = np.bincount(view.groups, weights=clean, minlength=len(view.labels))[: len(view.labels)]
    return np.append(per, clean.sum())


def means(view: View, values: np.ndarray) -> list[float | None]:
    n = counts(view, ~np.isnan(values))
    return [None if c == 0 else float(s / c) for s, c in zip(sums(view, values), n, strict=True)]


def percentiles(view: View, values: np.ndarray, qs: tuple[float, ...] = (0.5, 0.9)) -> list[list[float | None]]:
    """Per group then total: the `qs` percentiles of the non-missing values.

    One plain sort for all groups: each value to the millisecond, packed under its group number,
    so sorting the keys orders by group then value and the values come back out of the keys
    (cheaper than an argsort and a gather). Group percentiles are so exact to the millisecond.
    """
    present = ~np.isnan(values)
    groups, vals = view.groups[present], values[present]
    n_groups = len(view.labels)
    millis = np.round(vals * 1000).astype(np.int64)
    floor = int(millis.min()) if len(millis) else 0
    keys = np.sort((groups.astype(np.int64) << _GROUP_SHIFT) | (millis - floor))
    sorted_vals = ((keys & _VALUE_MASK) + floor) / 1000
    starts = np.searchsorted(keys >> _GROUP_SHIFT, np.arange(n_groups))
    sizes = np.bincount(groups, minlength=n_groups)[:n_groups]
    per_group = [_interpolate(sorted_vals, starts, sizes, q) for q in qs]
    total = _overall(vals, qs)
    return [[per_group[j][i] for j in range(len(qs))] for i in range(n_groups)] + [total]


_GROUP_SHIFT = 42  # 2**42 ms is 139 years: room for any duration, and for 2**21 groups above it
_VALUE_MASK = (1 << _GROUP_SHIFT) - 1


def _overall(vals: np.ndarray, qs: tuple[float, ...]) -> list[float | None]:
    """The exact percentiles of all values: only the order statistics they need, by partition."""
    if not len(vals):
        return [None for _ in qs]
    last = len(vals) - 1
    bounds = [(int(np.floor(q * last)), min(int(np.floor(q * last)) + 1, last), q * last) for q in qs]
    ordered = np.partition(vals, sorted({i for lo, hi, _ in bounds for i in (lo, hi)}))
    return [float(ordered[lo] + (k - lo) * (ordered[hi] - ordered[lo])) for lo, hi, k in bounds]


def _interpolate(sorted_vals: np.ndarray, starts: np.ndarray, sizes: np.ndarray, q: float) -> list[float | None]:
    """The q-th percentile of each run [start, start + size) of sorted values, all runs at once."""
    k = q * np.maximum(sizes - 1, 0)
    lo = np.floor(k).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(sizes - 1, 0))
    safe = np.maximum(len(sorted_vals) - 1, 0)
    low = sorted_vals[np.minimum(starts + lo, safe)] if len(sorted_vals) else np.zeros(len(sizes))
    high = sorted_vals[np.minimum(starts + hi, safe)] if len(sorted_vals) else np.zeros(len(sizes))
    result = low + (k - lo) * (high - low)
    return [None if size == 0 else float(value) for value, size in zip(result, sizes, strict=True)]
