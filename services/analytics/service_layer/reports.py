"""The reports analysts and managers read, over the live frame. Definitions:

- sla: first response is the acknowledgement, judged by intake against `respond_by`: met =
  acknowledged within it; missed, and a response breach, = acknowledged late, or not acknowledged
  by `respond_by` while still open (a request withdrawn or merged first is neither). Resolution met
  = resolved with no breach of the (pause-aware) resolution clock that dispatch keeps; missed, and
  a resolution breach, = that clock breached. Compliance = met / (met + missed). Warnings are
  dispatch's alerts: resolution warnings its SlaWarning on the resolution clock; response warnings
  its SlaWarning or SlaBreached on the clock it names "response" (once stopped by work starting,
  now by the acknowledgement), never the breach figure. Dispatch's clocks of other names are not
  response or resolution.
- stages: the stage times of `measures.py`, median and p90, by when the request was received.
- backlog: requests open (received, not closed, withdrawn or merged) at `as_of`, by age.
- satisfaction: by when the survey came back. CSAT % = share of 4 and 5; NPS = % promoters (9-10)
  minus % detractors (0-6).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from services.analytics.adapters.frame import Frame
from services.analytics.domain.folds import DIMENSIONS
from services.analytics.domain.measures import STAGES
from services.analytics.service_layer.statistics import counts, means, percentiles, sums
from services.analytics.service_layer.views import Filters, rows_of, select

WAITING_STAGES = ("triage", "allocation", "start", "paused", "confirmation")
DAY = 86_400.0


def ratio(numerator: float | None, denominator: float | None, digits: int = 4) -> float | None:
    if not denominator or numerator is None:
        return None
    return round(float(numerator) / float(denominator), digits)


def seconds(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def ints(values: np.ndarray) -> list[int]:
    return [int(v) for v in values]


def sla(frame: Frame, filters: Filters, now: datetime) -> list[dict[str, Any]]:
    v = select(frame, filters, "received_at")
    ended = v["ended_at"]
    cutoff = np.where(np.isnan(ended), now.timestamp(), ended)
    unanswered_late = np.isnan(v["acknowledged_at"]) & (v["respond_by"] < cutoff)
    response_missed = ints(counts(v, (v["ack_in_time"] == 0) | unanswered_late))
    resolution_missed = ints(counts(v, v["resolution_breached"] == 1))
    out = {
        "requests": ints(counts(v)),
        "response_met": ints(counts(v, v["ack_in_time"] == 1)),
        "response_missed": response_missed,
        "resolution_met": ints(counts(v, ~np.isnan(v["resolved_at"]) & (v["resolution_breached"] != 1))),
        "resolution_missed": resolution_missed,
        # A breach is a miss: response by intake's acknowledgement, resolution by dispatch's clock.
        # Dispatch's own response alerts are warnings: its clock once stopped at WorkStarted.
        "response_breaches": response_missed,
        "response_warnings": ints(counts(v, (v["response_warned"] == 1) | (v["response_breached"] == 1))),
        "resolution_breaches": resolution_missed,
        "resolution_warnings": ints(counts(v, v["resolution_warned"] == 1)),
        "escalations": ints(sums(v, v["escalations"])),
    }
    rows = rows_of(v, out)
    for r in rows:
        for clock in ("response", "resolution"):
            r[f"{clock}_compliance"] = ratio(r[f"{clock}_met"], r[f"{clock}_met"] + r[f"{clock}_missed"])
    return rows


def stages(frame: Frame, filters: Filters) -> list[dict[str, Any]]:
    v = select(frame, filters, "received_at")
    out: dict[str, list[Any]] = {"requests": ints(counts(v))}
    for stage in STAGES:
        values = percentiles(v, v[f"{stage}_s"])
        out[f"{stage}_median_s"] = [seconds(p[0]) for p in values]
        out[f"{stage}_p90_s"] = [seconds(p[1]) for p in values]
    waiting, lead = v["waiting_s"], v["lead_s"]
    out["waiting_median_s"] = [seconds(p[0]) for p in percentiles(v, waiting, (0.5,))]
    out["working_median_s"] = out["work_median_s"]
    out["waiting_share"] = [ratio(w, t) for w, t in zip(sums(v, waiting), sums(v, np.where(np.isnan(waiting), np.nan, lead)),
                                                        strict=True)]
    handoffs, ping_pongs = v["handoffs"], v["ping_pongs"]
    out |= {"reassigned_requests": ints(counts(v, handoffs > 0)), "handoffs": ints(sums(v, handoffs)),
            "ping_pong_requests": ints(counts(v, ping_pongs > 0)), "ping_pongs": ints(sums(v, ping_pongs))}
    rows = rows_of(v, out)
    for r in rows:
        medians = {s: r[f"{s}_median_s"] for s in (*WAITING_STAGES, "work") if r[f"{s}_median_s"]}
        r["bottleneck"] = max(medians, key=lambda s: medians[s]) if medians else None
    return rows


def backlog(frame: Frame, filters: Filters, as_of: datetime) -> list[dict[str, Any]]:
    t = as_of.timestamp()
    received, ended = frame.requests["received_at"], frame.requests["ended_at"]
    v = select(frame, filters.without_period(), "received_at", where=(received <= t) & ~(ended <= t))
    age = t - v["received_at"]
    edges = (("age_lt_1d", 0, 1), ("age_1_3d", 1, 3), ("age_3_7d", 3, 7), ("age_7_30d", 7, 30),
             ("age_gt_30d", 30, np.inf))
    oldest = np.full(len(v.labels) + 1, -np.inf)
    np.maximum.at(oldest, v.groups, age)
    oldest[-1] = age.max() if len(age) else -np.inf
    resolved = v["resolved_at"]
    out = {
        "open": ints(counts(v)),
        **{name: ints(counts(v, (age >= lo * DAY) & (age < hi * DAY))) for name, lo, hi in edges},
        "oldest_age_s": [None if o == -np.inf else seconds(o) for o in oldest],
        "unacknowledged": ints(counts(v, ~(v["acknowledged_at"] <= t))),
        "unallocated": ints(counts(v, ~(v["first_allocated_at"] <= t))),
        "awaiting_confirmation": ints(counts(v, resolved <= t)),
        "breached": ints(counts(v, (v["resolve_by"] < t) & ~(resolved <= t))),
    }
    return rows_of(v, out)


def satisfaction(frame: Frame, filters: Filters) -> list[dict[str, Any]]:
    v = select(frame, filters, "survey_returned_at")
    csat, nps = v["csat"], v["nps"]
    answers, promoters, detractors = counts(v, ~np.isnan(nps)), counts(v, nps >= 9), counts(v, nps <= 6)
    out = {
        "surveys": ints(counts(v)), "csat_avg": [_round(m) for m in means(v, csat)],
        "csat_pct": [ratio(s, n) for s, n in zip(counts(v, csat >= 4), counts(v), strict=True)],
        "nps_answers": ints(answers), "promoters": ints(promoters),
        "passives": ints(counts(v, (nps >= 7) & (nps <= 8))), "detractors": ints(detractors),
        "nps": [round(100 * (p - d) / a, 1) if a else None for p, d, a in zip(promoters, detractors, answers,
                                                                             strict=True)],
        **{f"{d}_avg": [_round(m) for m in means(v, v[f"dim_{d}"])] for d in DIMENSIONS},
    }
    return rows_of(v, out)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
