"""The reports analysts and managers read; each is one scan of the live facts. Definitions:

- sla: response met = first acknowledged within its target; missed = acknowledged late, or not
  acknowledged by the deadline while still open. Resolution met = resolved with no breach of the
  (pause-aware) resolution clock that dispatch keeps; missed = that clock breached. Compliance =
  met / (met + missed). Breaches and warnings are dispatch's SlaBreached / SlaWarning, per clock.
- stages: the stage times of `measures.py`, median and p90, by when the request was received.
- backlog: requests open (received, not closed, withdrawn or merged) at `as_of`, by age.
- satisfaction: by when the survey came back. CSAT % = share of 4 and 5; NPS = % promoters (9-10)
  minus % detractors (0-6).
- staff: by when the request was (last) resolved, per resolving resource (or team/period).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.analytics.adapters.report_sql import Filters, Query, facts_from, grouped, ratio, seconds
from services.analytics.domain.facts import DIMENSIONS
from services.analytics.domain.measures import STAGES
from shared.db import Conn

STAGE_SQL = {s: f"f.{s}_s" for s in STAGES} | {
    "work": "CASE WHEN f.started_at IS NOT NULL THEN f.work_s END",
    "paused": "CASE WHEN f.started_at IS NOT NULL THEN f.paused_s END",
}
WAITING_STAGES = ("triage", "allocation", "start", "paused", "confirmation")


async def sla(conn: Conn, v: str, filters: Filters, now: datetime) -> list[dict[str, Any]]:
    q = Query()
    t = q.param(now)
    select = (
        "count(*) AS requests, count(*) FILTER (WHERE f.ack_in_time) AS response_met, "
        f"count(*) FILTER (WHERE NOT f.ack_in_time OR (f.acknowledged_at IS NULL AND f.respond_by < "
        f"coalesce(f.ended_at, {t}::timestamptz))) AS response_missed, "
        "count(*) FILTER (WHERE f.resolved_at IS NOT NULL AND NOT f.resolution_breached) AS resolution_met, "
        "count(*) FILTER (WHERE f.resolution_breached) AS resolution_missed, "
        "count(*) FILTER (WHERE f.response_breached) AS response_breaches, "
        "count(*) FILTER (WHERE f.resolution_breached) AS resolution_breaches, "
        "count(*) FILTER (WHERE f.response_warned) AS response_warnings, "
        "count(*) FILTER (WHERE f.resolution_warned) AS resolution_warnings, "
        "coalesce(sum(f.escalations), 0) AS escalations"
    )
    rows = await _scan(conn, q, v, filters, select, "f.received_at")
    for r in rows:
        for clock in ("response", "resolution"):
            met, missed = r[f"{clock}_met"], r[f"{clock}_missed"]
            r[f"{clock}_compliance"] = ratio(met, met + missed)
    return rows


async def stages(conn: Conn, v: str, filters: Filters) -> list[dict[str, Any]]:
    q = Query()
    parts = [f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {sql}) AS {s}" for s, sql in STAGE_SQL.items()]
    select = ", ".join([
        "count(*) AS requests", *parts,
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY f.waiting_s) AS waiting_median_s",
        "sum(f.waiting_s) AS waiting_sum", "sum(f.lead_s) FILTER (WHERE f.waiting_s IS NOT NULL) AS lead_sum",
        "count(*) FILTER (WHERE f.handoffs > 0) AS reassigned_requests", "coalesce(sum(f.handoffs), 0) AS handoffs",
        "count(*) FILTER (WHERE f.ping_pongs > 0) AS ping_pong_requests",
        "coalesce(sum(f.ping_pongs), 0) AS ping_pongs",
    ])
    rows = await _scan(conn, q, v, filters, select, "f.received_at")
    for r in rows:
        for s in STAGE_SQL:
            median, p90 = r.pop(s) or (None, None)
            r[f"{s}_median_s"], r[f"{s}_p90_s"] = seconds(median), seconds(p90)
        r["waiting_median_s"] = seconds(r["waiting_median_s"])
        r["working_median_s"] = r["work_median_s"]
        r["waiting_share"] = ratio(r.pop("waiting_sum"), r.pop("lead_sum"))
        medians = {s: r[f"{s}_median_s"] for s in (*WAITING_STAGES, "work") if r[f"{s}_median_s"]}
        r["bottleneck"] = max(medians, key=lambda s: medians[s]) if medians else None
    return rows


async def backlog(conn: Conn, v: str, filters: Filters, as_of: datetime) -> list[dict[str, Any]]:
    q = Query()
    t = f"{q.param(as_of)}::timestamptz"
    age = f"{t} - f.received_at"
    buckets = [f"count(*) FILTER (WHERE {age} < interval '1 day') AS age_lt_1d",
               f"count(*) FILTER (WHERE {age} >= interval '1 day' AND {age} < interval '3 days') AS age_1_3d",
               f"count(*) FILTER (WHERE {age} >= interval '3 days' AND {age} < interval '7 days') AS age_3_7d",
               f"count(*) FILTER (WHERE {age} >= interval '7 days' AND {age} < interval '30 days') AS age_7_30d",
               f"count(*) FILTER (WHERE {age} >= interval '30 days') AS age_gt_30d"]
    select = ", ".join([
        "count(*) AS open", *buckets,
        f"extract(epoch FROM {t} - min(f.received_at))::float8 AS oldest_age_s",
        f"count(*) FILTER (WHERE f.acknowledged_at IS NULL OR f.acknowledged_at > {t}) AS unacknowledged",
        f"count(*) FILTER (WHERE f.first_allocated_at IS NULL OR f.first_allocated_at > {t}) AS unallocated",
        f"count(*) FILTER (WHERE f.resolved_at <= {t}) AS awaiting_confirmation",
        f"count(*) FILTER (WHERE f.resolve_by < {t} AND (f.resolved_at IS NULL OR f.resolved_at > {t})) AS breached",
    ])
    where = f"{q.where(filters, None)} AND tstzrange(f.received_at, f.ended_at, '[)') @> {t}"
    rows = await grouped(conn, q, select, facts_from(v), where, q.group(filters, "f.received_at"))
    for r in rows:
        r["oldest_age_s"] = seconds(r["oldest_age_s"])
    return rows


async def satisfaction(conn: Conn, v: str, filters: Filters) -> list[dict[str, Any]]:
    q = Query()
    dims = [f"avg(f.dim_{d})::float8 AS {d}_avg" for d in DIMENSIONS]
    select = ", ".join([
        "count(*) AS surveys", "avg(f.csat)::float8 AS csat_avg", "count(*) FILTER (WHERE f.csat >= 4) AS satisfied",
        "count(f.nps) AS nps_answers", "count(*) FILTER (WHERE f.nps >= 9) AS promoters",
        "count(*) FILTER (WHERE f.nps BETWEEN 7 AND 8) AS passives", "count(*) FILTER (WHERE f.nps <= 6) AS detractors",
        *dims,
    ])
    rows = await _scan(conn, q, v, filters, select, "f.survey_returned_at", "f.survey_returned_at IS NOT NULL")
    for r in rows:
        r["csat_pct"] = ratio(r.pop("satisfied"), r["surveys"])
        answers = r["nps_answers"]
        r["nps"] = round(100 * (r["promoters"] - r["detractors"]) / answers, 1) if answers else None
        for key in ("csat_avg", *(f"{d}_avg" for d in DIMENSIONS)):
            r[key] = None if r[key] is None else round(r[key], 2)
    return rows


async def _scan(conn: Conn, q: Query, v: str, filters: Filters, select: str, time_column: str,
                extra: str = "true") -> list[dict[str, Any]]:
    where = f"{q.where(filters, time_column)} AND {extra}"
    return await grouped(conn, q, select, facts_from(v), where, q.group(filters, time_column))
