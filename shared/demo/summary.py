"""The week's figures as analytics reports them, once it has taken in everything the desk did."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from shared.auth import Role, TokenService
from shared.settings import Settings

STAGE_NAMES = {"triage": "triage", "allocation": "waiting for a technician", "start": "waiting for work to start",
               "paused": "paused (parts, customer)", "confirmation": "waiting for the customer", "work": "work"}


@dataclass(frozen=True)
class Summary:
    requests: int
    response_compliance: float | None
    resolution_compliance: float | None
    escalations: int
    surveys: int
    csat: float | None
    nps: float | None
    complaint_rate: float | None
    bottleneck: str | None
    bottleneck_median: timedelta | None
    complete: bool = True  # analytics counted every request and survey the desk was told were recorded

    def rows(self) -> list[tuple[str, str]]:
        def pct(v: float | None) -> str:
            return "–" if v is None else f"{100 * v:.1f} %"
        wait = "" if self.bottleneck_median is None else f" (median {_duration(self.bottleneck_median)})"
        return [
            ("requests", str(self.requests)),
            ("first response within SLA", pct(self.response_compliance)),
            ("resolved within SLA", pct(self.resolution_compliance)),
            ("escalations", str(self.escalations)),
            ("surveys returned", str(self.surveys)),
            ("CSAT (1–5)", "–" if self.csat is None else f"{self.csat:.2f}"),
            ("NPS", "–" if self.nps is None else f"{self.nps:+.0f}"),
            ("complaints per request", pct(self.complaint_rate)),
            ("bottleneck stage", f"{STAGE_NAMES.get(self.bottleneck or '', self.bottleneck or '–')}{wait}"),
        ]


async def summarise(analytics: str, start: datetime, end: datetime, submitted: int, surveys: int,
                    timeout: float = 90) -> Summary:
    """Analytics' reports of [start, end), once they count every request submitted and every survey
    returned (the archive follows the other services through Kafka, a moment behind), or as they
    are after `timeout` seconds (then `complete` is False)."""
    token = TokenService(Settings()).mint(Role.analyst, "demo-analyst")
    params = {"from": start.isoformat(), "to": end.isoformat()}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=analytics, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        while True:
            reports = {name: await _total(http, name, params) for name in ("sla", "satisfaction", "stages", "complaints")}
            caught_up = reports["sla"].get("requests", 0) >= submitted and reports["satisfaction"].get("surveys", 0) >= surveys
            if caught_up or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    sla, sat, stages, complaints = (reports[n] for n in ("sla", "satisfaction", "stages", "complaints"))
    bottleneck = stages.get("bottleneck")
    median = stages.get(f"{bottleneck}_median_s") if bottleneck else None
    return Summary(
        requests=sla.get("requests", 0), response_compliance=sla.get("response_compliance"),
        resolution_compliance=sla.get("resolution_compliance"), escalations=sla.get("escalations", 0),
        surveys=sat.get("surveys", 0), csat=sat.get("csat_avg"), nps=sat.get("nps"),
        complaint_rate=complaints.get("complaint_rate"), bottleneck=bottleneck,
        bottleneck_median=None if median is None else timedelta(seconds=median), complete=caught_up,
    )


async def _total(http: httpx.AsyncClient, report: str, params: dict[str, str]) -> dict[str, Any]:
    answer = await http.get(f"/v1/reports/{report}", params=params)
    answer.raise_for_status()
    return answer.json().get("total") or {}


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"
