"""Selecting and grouping facts for a report.

A `View` is the rows a report's filters keep, each with the code of its group; `statistics.py`
computes per group and in total over it, and `rows_of` lays the results out as report rows.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy as np

from services.analytics.adapters.columns import Columns
from services.analytics.adapters.frame import Frame
from shared.categories import in_branch

PERIODS = ("day", "week", "month")
TOTAL = "total"


@dataclass(frozen=True)
class Filters:
    start: datetime | None = None
    end: datetime | None = None
    priority: str | None = None
    category: str | None = None
    channel: str | None = None
    team: str | None = None
    group_by: str | None = None
    timezone: str = "UTC"

    def without_period(self) -> Filters:
        return replace(self, start=None, end=None)


@dataclass(frozen=True)
class View:
    rows: np.ndarray  # indices into the frame's columns
    groups: np.ndarray  # group code of each row
    labels: list[str]  # label of each group code
    columns: Columns | None = None  # what `rows` index

    def __getitem__(self, name: str) -> np.ndarray:
        """The named column's values of the kept rows."""
        assert self.columns is not None
        return self.columns[name][self.rows]


def select(frame: Frame, filters: Filters, time: str, columns: Columns | None = None,
           where: np.ndarray | None = None) -> View:
    """Rows whose `time` is set and within [start, end), matching every dimension filter (and `where`)."""
    cols = columns if columns is not None else frame.requests
    at = cols[time]
    keep = ~np.isnan(at) if where is None else where & ~np.isnan(at)
    if filters.start is not None:
        keep &= at >= filters.start.timestamp()
    if filters.end is not None:
        keep &= at < filters.end.timestamp()
    keep &= _dimension_mask(frame, filters, cols)
    rows = np.flatnonzero(keep)
    codes, labels = _group_codes(frame, filters.group_by, time, cols, rows)
    return View(rows, codes, labels, cols)


def _dimension_mask(frame: Frame, filters: Filters, cols: Columns) -> np.ndarray:
    keep = np.ones(cols.size, dtype=bool)
    for name in ("priority", "channel"):
        if (value := getattr(filters, name)) is not None:
            keep &= _codes_equal(frame, name, value, cols)
    if filters.category is not None:
        keep &= _in_branch(frame, filters.category, cols)
    if filters.team is not None:
        teams, labels = _teams(frame, cols)
        keep &= teams == (labels.index(filters.team) if filters.team in labels else -1)
    return keep


def _codes_equal(frame: Frame, name: str, value: str, cols: Columns) -> np.ndarray:
    """Feedback items carry no dimensions of their own: they take those of their request."""
    code = frame.requests.vocab[name].codes.get(value, -1)
    if cols is frame.requests:
        return cols[name] == code
    return _request_values(frame, cols, frame.requests[name], -2) == code


def _in_branch(frame: Frame, branch: str, cols: Columns) -> np.ndarray:
    """The shared category rule (intake's search applies it too), decided once per category label,
    then applied to the rows by code."""
    labels = frame.requests.vocab["category"].labels
    inside = [code for code, label in enumerate(labels) if in_branch(label, branch)]
    codes = cols["category"] if cols is frame.requests else _request_values(frame, cols, frame.requests["category"], -2)
    if len(inside) <= 4:  # a leaf or a small branch: a few comparisons cost less than a gather
        keep = np.zeros(cols.size, dtype=bool)
        for code in inside:
            keep |= codes == code
        return keep
    lookup = np.zeros(len(labels) + 2, dtype=bool)  # the last two: codes -1 and -2 (no request)
    lookup[inside] = True
    return np.take(lookup, codes)


def _request_values(frame: Frame, cols: Columns, values: np.ndarray, missing: Any) -> np.ndarray:
    index = frame.requests.index
    rows = np.fromiter((index.get(r, -1) for r in cols.vocab["request_id"].labels), np.int64)[cols["request_id"]]
    found = rows >= 0
    out = np.full(cols.size, missing, dtype=values.dtype)
    out[found] = values[rows[found]]
    return out


def _teams(frame: Frame, cols: Columns) -> tuple[np.ndarray, list[str]]:
    teams, labels = frame.team_codes()
    return (teams if cols is frame.requests else _request_values(frame, cols, teams, labels.index("none")
                                                                 if "none" in labels else -1)), labels


def _group_codes(frame: Frame, by: str | None, time: str, cols: Columns, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    if by is None:
        return np.zeros(len(rows), np.int64), []
    if by in PERIODS:
        days = cols[f"{time}_day"][rows]
        unique_days, day_codes = np.unique(days, return_inverse=True)
        day_labels = [period_label(by, int(d)) for d in unique_days]
        labels = sorted(set(day_labels))
        mapping = np.array([labels.index(lbl) for lbl in day_labels], dtype=np.int64)
        return mapping[day_codes] if len(rows) else np.zeros(0, np.int64), labels
    if by == "team":
        teams, team_labels = _teams(frame, cols)
        return _compact(teams[rows], team_labels)
    name = "holder" if by == "resource" else by
    values = cols[name] if cols is frame.requests else _request_values(frame, cols, frame.requests[name], -1)
    labels = frame.requests.vocab[name].labels
    return _compact(values[rows], labels)


def _compact(codes: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Groups that occur, renumbered in label order; a code of -1 (no request) becomes "none"."""
    names = [labels[c] if c >= 0 else "none" for c in range(-1, len(labels))]
    present = np.unique(codes)
    ordered = sorted({names[c + 1] for c in present})
    lookup = np.zeros(len(labels) + 1, np.int64)
    for c in present:
        lookup[c + 1] = ordered.index(names[c + 1])
    return lookup[codes + 1], ordered


def period_label(by: str, ordinal: int) -> str:
    day = date.fromordinal(ordinal)
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def rows_of(view: View, columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """One dict per group, then the total; with no grouping, the total alone."""
    names = [*view.labels, TOTAL]
    rows = [{"group": name, **{k: v[i] for k, v in columns.items()}} for i, name in enumerate(names)]
    return rows if view.labels else rows[-1:]
