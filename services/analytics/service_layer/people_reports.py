"""Reports about the people on both sides: staff performance, complaints, and the staffing forecast.

- staff: requests (last) resolved in the period, per resolving resource by default. Handle time =
  time actually worked; utilisation = worked time / (capacity x the period's length), so it needs
  `from` and `to`; first-contact resolution as in `measures.py`; reopen rate = reopened / resolved.
- complaints: feedback items by when received (complaints, suggestions, praise), complaint rate =
  complaints / requests received in the same groups; handling compliance = complaints resolved
  in time / (resolved + open past their deadline).
- forecast: see `domain/forecast.py`; handle hours per category come from the history window.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from services.analytics.adapters.report_sql import Filters, Query, facts_from, grouped, ratio, seconds
from services.analytics.domain.forecast import Forecast, forecast
from shared.db import Conn, fetch


async def staff(conn: Conn, v: str, filters: Filters) -> list[dict[str, Any]]:
    if filters.group_by is None:
        filters = Filters(**{**filters.__dict__, "group_by": "resource"})
    q = Query()
    span = (filters.end - filters.start).total_seconds() if filters.start and filters.end else None
    select = ", ".join([
        "max(r.name) AS name", "max(r.team) AS team", "count(*) AS resolved",
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY f.work_s) AS handle_median_s",
        "sum(f.work_s) AS work_s", "max(r.capacity) AS capacity",
        "count(*) FILTER (WHERE f.fcr) AS fcr", "count(*) FILTER (WHERE f.reopens > 0) AS reopened",
        "avg(f.csat)::float8 AS csat_avg", "count(f.csat) AS surveys",
    ])
    where = f"{q.where(filters, 'f.resolved_at')} AND f.resolved_at IS NOT NULL"
    rows = await grouped(conn, q, select, facts_from(v), where, q.group(filters, "f.resolved_at"))
    for r in rows:
        work, capacity = r.pop("work_s") or 0.0, r.pop("capacity")
        r["handle_median_s"] = seconds(r["handle_median_s"])
        r["work_hours"] = round(work / 3600, 2)
        per_resource = filters.group_by == "resource" and r["group"] != "total"
        r["utilisation"] = ratio(work, span * (capacity or 1)) if span and per_resource else None
        r["fcr_rate"] = ratio(r.pop("fcr"), r["resolved"])
        r["reopen_rate"] = ratio(r.pop("reopened"), r["resolved"])
        r["csat_avg"] = None if r["csat_avg"] is None else round(r["csat_avg"], 2)
        if not per_resource:
            r["name"] = r["team"] = None
    return rows


async def complaints(conn: Conn, v: str, filters: Filters, now: datetime) -> list[dict[str, Any]]:
    q = Query()
    received = await grouped(
        conn, q, "count(*) AS requests, count(*) FILTER (WHERE f.kind = 'complaint') AS complaint_requests",
        facts_from(v), q.where(filters, "f.received_at"), q.group(filters, "f.received_at"))
    q2 = Query()
    t = q2.param(now)
    complaint = "fb.kind = 'complaint'"
    select = ", ".join([
        f"count(*) FILTER (WHERE {complaint}) AS complaints",
        "count(*) FILTER (WHERE fb.kind = 'suggestion') AS suggestions",
        "count(*) FILTER (WHERE fb.kind = 'praise') AS praise",
        f"count(*) FILTER (WHERE {complaint} AND fb.within_deadline) AS handled_in_time",
        f"count(*) FILTER (WHERE {complaint} AND NOT fb.within_deadline) AS handled_late",
        f"count(*) FILTER (WHERE {complaint} AND fb.resolved_at IS NULL AND fb.respond_by < {t}::timestamptz) "
        f"AS open_overdue",
        f"count(*) FILTER (WHERE {complaint} AND fb.escalated) AS escalated",
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fb.resolved_at - fb.received_at)) "
        f"FILTER (WHERE {complaint}) AS handle_median_s",
    ])
    source = f"{v}.feedback_facts fb LEFT JOIN {facts_from(v)} ON f.request_id = fb.request_id"
    items = await grouped(conn, q2, select, source, q2.where(filters, "fb.received_at"),
                          q2.group(filters, "fb.received_at"))
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
        r["complaint_rate"] = ratio(r["complaints"], r["requests"])
        judged = r["handled_in_time"] + r["handled_late"] + r["open_overdue"]
        r["handling_compliance"] = ratio(r["handled_in_time"], judged)
        r["handle_median_s"] = seconds(r["handle_median_s"])
    return rows


async def forecast_volume(conn: Conn, v: str, filters: Filters, today: date, horizon: int, history_days: int,
                          productive_hours: float) -> Forecast:
    history_from = today - timedelta(days=history_days)
    history_to = today - timedelta(days=1)
    q = Query()
    tz = q.param(filters.timezone)
    dims = q.where(Filters(**{**filters.__dict__, "start": None, "end": None}), None)
    day = f"(f.received_at AT TIME ZONE {tz})::date"
    rows = await fetch(
        conn,
        f"SELECT {day} AS day, coalesce(f.category, 'none') AS category, count(*) AS n, "
        f"sum(f.work_s) FILTER (WHERE f.resolved_at IS NOT NULL) AS work_s, "
        f"count(*) FILTER (WHERE f.resolved_at IS NOT NULL) AS resolved "
        f"FROM {facts_from(v)} WHERE {dims} AND {day} BETWEEN {q.param(history_from)} AND {q.param(history_to)} "
        f"GROUP BY 1, 2",
        *q.params,
    )
    counts = {(r["day"], r["category"]): int(r["n"]) for r in rows}
    work: dict[str, list[float]] = {}
    for r in rows:
        total = work.setdefault(r["category"], [0.0, 0])
        total[0], total[1] = total[0] + float(r["work_s"] or 0.0), total[1] + int(r["resolved"])
    hours = {c: seconds_ / resolved / 3600 for c, (seconds_, resolved) in work.items() if resolved}
    return forecast(counts, history_from=history_from, history_to=history_to, start=today, horizon_days=horizon,
                    handle_hours=hours, productive_hours_per_person=productive_hours)
