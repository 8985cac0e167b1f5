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

    One sort for all groups: by group, then by the value to the millisecond (ties closer than that
    may swap places, moving a percentile by less than a millisecond).
    """
    present = ~np.isnan(values)
    groups, vals = view.groups[present], values[present]
    n_groups = len(view.labels)
    order = np.argsort((groups.astype(np.int64) << 42) + np.round(vals * 1000).astype(np.int64))
    sorted_vals = vals[order]
    starts = np.searchsorted(groups[order], np.arange(n_groups))
    sizes = np.bincount(groups, minlength=n_groups)[:n_groups]
    per_group = [_interpolate(sorted_vals, starts, sizes, q) for q in qs]
    total = [_interpolate(np.sort(vals), np.zeros(1, np.int64), np.array([len(vals)]), q)[0] for q in qs]
    return [[per_group[j][i] for j in range(len(qs))] for i in range(n_groups)] + [total]


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
