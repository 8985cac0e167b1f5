"""The live read model's facts as numpy columns in memory: what reports scan.

PostgreSQL keeps the facts (the read model of record, rebuilt and checksummed there). Scanning
100,000 wide rows and sorting them for eight percentiles costs it hundreds of milliseconds;
the same over columns here costs a few. Before each report the frame takes only the facts whose
position moved since it last looked (an index range: the single writer of a version commits in
position order), and it reloads whole when another version goes live.
"""
from __future__ import annotations

import asyncio
import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from services.analytics.adapters.columns import Columns, Vocabulary
from services.analytics.adapters.fact_tables import FactTables
from services.analytics.adapters.versions import Versions
from services.analytics.domain.folds import DIMENSIONS
from services.analytics.domain.measures import STAGES
from shared.db import Conn, Database, fetch
from shared.follower import Follower

TIMES = ("received_at", "triaged_at", "acknowledged_at", "first_allocated_at", "started_at", "resolved_at",
         "closed_at", "ended_at", "respond_by", "resolve_by", "survey_returned_at")
NUMBERS = (*(f"{s}_s" for s in STAGES if s not in ("work", "paused")), "waiting_s", "work_s", "paused_s", "csat",
           "nps", *(f"dim_{d}" for d in DIMENSIONS), "escalations", "handoffs", "ping_pongs", "reopens",
           "ack_in_time", "response_breached", "resolution_breached", "response_warned", "resolution_warned", "fcr")
LABELS = ("priority", "category", "channel", "kind", "holder")
DAYS = ("received_at", "resolved_at", "survey_returned_at")  # local calendar days, for grouping by period
REQUEST_SQL = (f"SELECT request_id, position, {', '.join(TIMES)}, {', '.join(NUMBERS)}, priority, category, "
               f"channel, kind, coalesce(resolver_id, resource_id) AS holder, started_at IS NOT NULL AS started")
FEEDBACK_SQL = ("SELECT feedback_id, position, received_at, respond_by, resolved_at, kind, request_id, "
                "within_deadline, escalated")


def _seconds(value: datetime | None) -> float:
    return math.nan if value is None else value.timestamp()


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


class Frame:
    """One version's facts as columns: requests, feedback items, and resources by id."""

    def __init__(self, version: int, timezone: ZoneInfo) -> None:
        self.version, self.tz, self.position, self.feedback_position, self.resource_position = version, timezone, 0, 0, 0
        self.requests = Columns((*TIMES, *NUMBERS, *(f"{d}_day" for d in DAYS)), LABELS)
        self.feedback = Columns(("received_at", "respond_by", "resolved_at", "within_deadline", "escalated",
                                 "received_at_day"), ("kind", "request_id"))
        self.resources: dict[str, dict[str, Any]] = {}

    def day(self, value: datetime | None) -> float:
        return math.nan if value is None else float(value.astimezone(self.tz).date().toordinal())

    def add_requests(self, rows: list[Any]) -> None:
        columns: dict[str, list[Any]] = {name: [_seconds(r[name]) for r in rows] for name in TIMES}
        for name in NUMBERS:
            columns[name] = [_number(r[name]) for r in rows]
        for name in ("work_s", "paused_s"):  # no work yet is "unknown", not zero
            columns[name] = [v if r["started"] else math.nan for v, r in zip(columns[name], rows, strict=True)]
        for name in DAYS:
            columns[f"{name}_day"] = [self.day(r[name]) for r in rows]
        for name in LABELS:
            columns[name] = [r[name] for r in rows]
        self.requests.upsert([r["request_id"] for r in rows], columns)
        self.position = max(self.position, max(r["position"] for r in rows))

    def add_feedback(self, rows: list[Any]) -> None:
        columns: dict[str, list[Any]] = {n: [_seconds(r[n]) for r in rows] for n in ("received_at", "respond_by",
                                                                                     "resolved_at")}
        columns |= {n: [_number(r[n]) for r in rows] for n in ("within_deadline", "escalated")}
        columns |= {"received_at_day": [self.day(r["received_at"]) for r in rows],
                    "kind": [r["kind"] for r in rows], "request_id": [r["request_id"] for r in rows]}
        self.feedback.upsert([r["feedback_id"] for r in rows], columns)
        self.feedback_position = max(self.feedback_position, max(r["position"] for r in rows))

    def team_codes(self) -> tuple[np.ndarray, list[str]]:
        """The team of each request's holder, as codes into the returned labels."""
        vocab = Vocabulary()
        by_holder = np.fromiter((vocab.code(self.resources.get(h, {}).get("team")) for h in
                                 self.requests.vocab["holder"].labels), np.int32)
        holders = self.requests["holder"]
        return (by_holder[holders] if len(by_holder) else holders.copy()), vocab.labels


class FrameStore:
    """Keeps the live version's frame current; one per process, shared by every report."""

    def __init__(self, schema: str, timezone: str) -> None:
        self.schema, self.tz = schema, ZoneInfo(timezone)
        self.versions = Versions(schema)
        self.frame: Frame | None = None
        self._lock = asyncio.Lock()

    async def current(self, conn: Conn) -> Frame | None:
        """The live frame, brought up to date; None while no version is live."""
        async with self._lock:
            version = await self.versions.live(conn)
            if version is None:
                return None
            if self.frame is None or self.frame.version != version:
                self.frame = Frame(version, self.tz)
            await self._refresh(conn, self.frame, FactTables(self.schema, version).schema)
            return self.frame

    async def _refresh(self, conn: Conn, frame: Frame, v: str) -> None:
        changed = await fetch(conn, f"SELECT (SELECT max(position) FROM {v}.request_facts), "
                                    f"(SELECT max(position) FROM {v}.feedback_facts), "
                                    f"(SELECT max(position) FROM {v}.resource_facts)")
        requests, feedback, resources = (p or 0 for p in changed[0])
        if max(requests - frame.position, feedback - frame.feedback_position,
               resources - frame.resource_position) <= 0:
            return  # the usual case: nothing moved since the last report
        async with conn.transaction():
            # A generic plan would not know how few rows lie above the position: always plan anew.
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            if rows := await fetch(conn, f"{REQUEST_SQL} FROM {v}.request_facts WHERE position > $1", frame.position):
                frame.add_requests(rows)
            if rows := await fetch(conn, f"{FEEDBACK_SQL} FROM {v}.feedback_facts WHERE position > $1",
                                   frame.feedback_position):
                frame.add_feedback(rows)
            rows = await fetch(conn, f"SELECT resource_id, name, team, capacity, position FROM {v}.resource_facts "
                                     f"WHERE position > $1", frame.resource_position)
        for r in rows:
            frame.resources[r["resource_id"]] = {"name": r["name"], "team": r["team"], "capacity": r["capacity"]}
            frame.resource_position = max(frame.resource_position, r["position"])


class FrameWarmer(Follower):
    """Keeps the frame loaded and current in the background, so reports rarely wait to load it."""

    def __init__(self, db: Database, frames: FrameStore, poll_seconds: float) -> None:
        super().__init__(1, poll_seconds, 0.0)
        self.db, self.frames = db, frames

    async def run_once(self) -> int:
        async with self.db.connect() as conn:
            await self.frames.current(conn)
        return 0
