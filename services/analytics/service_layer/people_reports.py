"""Reports about the people on both sides: staff performance, complaints, and the staffing forecast.

- staff: requests (last) resolved in the period, per resolving resource by default. Handle time =
  time actually worked; utilisation = worked time / (capacity x the period's length), so it needs
  `from` and `to`; first-contact resolution as in `measures.py`; reopen rate = reopened / resolved.
- complaints: feedback items by when received (complaints, suggestions, praise), however they came
  in: a request intake took as a complaint is one of them, through the complaint feedback raised
  for it (`complaint_requests` says how many requests those were). Complaint rate = complaints /
  service requests received in the same groups, i.e. `requests` less `complaint_requests` (a
  complaint is not a request for service; counted there it would count twice). Handling
  compliance = complaints resolved in time / (resolved + open past their deadline); a complaint
  withdrawn with its request (FeedbackWithdrawn) is neither, and never overdue.
- forecast: see `domain/forecast.py`; handle hours per category come from the history window.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from services.analytics.adapters.frame import Frame
from services.analytics.domain.forecast import Forecast, forecast
from services.analytics.service_layer.reports import ints, ratio, seconds
from services.analytics.service_layer.statistics import counts, means, percentiles, sums
from services.analytics.service_layer.views import Filters, rows_of, select


def staff(frame: Frame, filters: Filters) -> list[dict[str, Any]]:
    filters = filters if filters.group_by else replace(filters, group_by="resource")
    v = select(frame, filters, "resolved_at")
    work = v["work_s"]
    per_resource = filters.group_by == "resource"
    span = (filters.end - filters.start).total_seconds() if filters.start and filters.end else None
    people = [frame.resources.get(label, {}) if per_resource else {} for label in [*v.labels, None]]
    out = {
        "name": [p.get("name") for p in people], "team": [p.get("team") for p in people],
        "resolved": ints(counts(v)), "handle_median_s": [seconds(p[0]) for p in percentiles(v, work, (0.5,))],
        "work_hours": [round(s / 3600, 2) for s in sums(v, work)],
        "utilisation": [ratio(s, span * (p.get("capacity") or 1)) if span and p else None
                        for s, p in zip(sums(v, work), people, strict=True)],
        "fcr_rate": [ratio(a, n) for a, n in zip(counts(v, v["fcr"] == 1), counts(v), strict=True)],
        "reopen_rate": [ratio(a, n) for a, n in zip(counts(v, v["reopens"] > 0), counts(v), strict=True)],
        "csat_avg": [None if m is None else round(m, 2) for m in means(v, v["csat"])],
        "surveys": ints(counts(v, ~np.isnan(v["csat"]))),
    }
    return rows_of(v, out)


def complaints(frame: Frame, filters: Filters, now: datetime) -> list[dict[str, Any]]:
    requests = select(frame, filters, "received_at")
    complaint_code = frame.requests.vocab["kind"].codes.get("complaint", -1)
    received = rows_of(requests, {"requests": ints(counts(requests)), "complaint_requests": ints(
        counts(requests, requests["kind"] == complaint_code))})
    fb = frame.feedback
    v = select(frame, filters, "received_at", columns=fb)
    kinds = v["kind"]
    kind = {k: kinds == fb.vocab["kind"].codes.get(k, -1) for k in ("complaint", "suggestion", "praise")}
    complaint = kind["complaint"]
    within, resolved = v["within_deadline"], v["resolved_at"]
    # Handling time of complaints handled: one withdrawn with its request (within NaN) was not.
    handling = np.where(complaint & ~np.isnan(within), resolved - v["received_at"], np.nan)
    items = rows_of(v, {
        "complaints": ints(counts(v, complaint)), "suggestions": ints(counts(v, kind["suggestion"])),
        "praise": ints(counts(v, kind["praise"])),
        "handled_in_time": ints(counts(v, complaint & (within == 1))),
        "handled_late": ints(counts(v, complaint & (within == 0))),
        "open_overdue": ints(counts(v, complaint & np.isnan(resolved) & (v["respond_by"] < now.timestamp()))),
        "escalated": ints(counts(v, complaint & (v["escalated"] == 1))),
        "handle_median_s": [seconds(p[0]) for p in percentiles(v, handling, (0.5,))],
    })
    return _join_complaints(received, items)


def _join_complaints(received: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    empty = {"complaints": 0, "suggestions": 0, "praise": 0, "handled_in_time": 0, "handled_late": 0,
             "open_overdue": 0, "escalated": 0, "handle_median_s": None}
    by_group = {r["group"]: {**r, **empty} for r in received}
    for item in items:
        by_group.setdefault(item["group"], {"group": item["group"], "requests": 0, "complaint_requests": 0})
        by_group[item["group"]].update(item)
    rows = sorted(by_group.values(), key=lambda r: (r["group"] == "total", r["group"]))
    for r in rows:
        r["complaint_rate"] = ratio(r["complaints"], r["requests"] - r["complaint_requests"])
        judged = r["handled_in_time"] + r["handled_late"] + r["open_overdue"]
        r["handling_compliance"] = ratio(r["handled_in_time"], judged)
    return rows


def forecast_volume(frame: Frame, filters: Filters, today: date, horizon: int, history_days: int,
                    productive_hours: float) -> Forecast:
    history_from, history_to = today - timedelta(days=history_days), today - timedelta(days=1)
    days = frame.requests["received_at_day"]
    window = (days >= history_from.toordinal()) & (days <= history_to.toordinal())
    v = select(frame, replace(filters.without_period(), group_by="category"), "received_at", where=window)
    day_of = v["received_at_day"].astype(np.int64)
    pairs, n = np.unique(np.stack([day_of, v.groups]), axis=1, return_counts=True) if len(v.rows) else ([[], []], [])
    counts_by = {(date.fromordinal(int(d)), v.labels[int(g)]): int(k) for d, g, k in zip(*pairs, n, strict=True)}
    resolved = ~np.isnan(v["resolved_at"])
    work = np.where(resolved, v["work_s"], np.nan)
    hours = {label: s / k / 3600 for label, s, k in zip(v.labels, sums(v, work)[:-1], counts(v, resolved)[:-1], strict=True)
             if k}
    return forecast(counts_by, history_from=history_from, history_to=history_to, start=today, horizon_days=horizon,
                    handle_hours=hours, productive_hours_per_person=productive_hours)
