"""Folds intake's own events into the requests read model (run by ProjectionRunner, and by
`servicetrail projections rebuild intake requests`).

A batch is folded in memory: the rows its events touch are read in one statement, each event
changes its request's row as a dict (`FOLDS`), and the rows changed are written back in one
pipelined upsert. An event of a request with no row (never received here) changes nothing."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Callable

import orjson

from shared.calendar import BusinessCalendar
from shared.db import Conn, fetch, ident
from shared.envelope import Envelope

RISK_SHARE = 0.75  # a response is "at risk" once this share of its window has passed
# The customer's personal data it keeps: what the queues show and the duplicate hint compares.
UPDATABLE_COLUMNS = frozenset({"title", "description"})


@lru_cache(maxsize=64)
def _calendar(spec: str) -> BusinessCalendar:
    return BusinessCalendar.from_spec(orjson.loads(spec))


def risk_at(received: datetime, respond_by: datetime, calendar_spec: dict[str, Any]) -> datetime:
    calendar = _calendar(orjson.dumps(calendar_spec, option=orjson.OPT_SORT_KEYS).decode())
    window = calendar.business_time_between(received, respond_by)
    return calendar.add_business_time(received, window * RISK_SHARE)


def _received(d: dict[str, Any], at: datetime) -> dict[str, Any]:
    c = d["customer"]
    return {"id": d["request_id"], "customer_id": c["id"], "channel": d["channel"],
            "kind": d["kind"], "category": d.get("category"), "title": d["title"], "description": d["description"],
            "urgency": d["urgency"], "impact": d["impact"], "status": "triaged",
            "owner": d["owner"], "received_at": datetime.fromisoformat(d["received_at"]), "updated_at": at}


def _triaged(d: dict[str, Any], received_at: datetime) -> dict[str, Any]:
    respond_by = datetime.fromisoformat(d["respond_by"])
    return {"priority": d["priority"], "priority_rank": int(d["priority"][1]), "urgency": d["urgency"],
            "impact": d["impact"], "category": d.get("category"), "emergency": d["emergency"],
            "respond_by": respond_by, "resolve_by": datetime.fromisoformat(d["resolve_by"]),
            "respond_risk_at": risk_at(received_at, respond_by, d["sla"]["calendar"]),
            "triaged_by": d["triaged_by"], "needs_review": d["needs_review"]}


Row = dict[str, Any]
# The columns this projection writes; a row read back holds these and no other.
COLUMNS = ("id", "customer_id", "channel", "kind", "category", "title", "description", "urgency", "impact",
           "priority", "priority_rank", "emergency", "status", "owner", "triaged_by", "needs_review", "received_at",
           "respond_by", "resolve_by", "respond_risk_at", "acknowledged_at", "need_confirmed_at", "merged_into",
           "reopen_count", "contacts", "updated_at", "customer_erased")


def _stamped(change: Callable[[Row, dict[str, Any]], None]) -> Callable[[Row, dict[str, Any], datetime], None]:
    def fold(row: Row, d: dict[str, Any], at: datetime) -> None:
        change(row, d)
        row["updated_at"] = at
    return fold


def _acknowledged(row: Row, d: dict[str, Any]) -> None:
    row["acknowledged_at"] = datetime.fromisoformat(d["acknowledged_at"])
    if row.get("status") in ("triaged", "reopened"):  # as the aggregate: one already held stays with its holder
        row["status"] = "acknowledged"


def _updated(row: Row, d: dict[str, Any], at: datetime) -> None:
    changes = {**d["changes"], **d.get("personal_changes", {})}
    columns = {name.replace(".", "_"): change["after"] for name, change in changes.items()}
    columns = {k: v for k, v in columns.items() if k in UPDATABLE_COLUMNS}
    if columns:
        row.update(columns, updated_at=at)


def _merged(row: Row, d: dict[str, Any]) -> None:
    row.update(status="merged", merged_into=d["into_request_id"])


# How each event (but RequestReceived and CustomerErased) changes its request's row.
FOLDS: dict[str, Callable[[Row, dict[str, Any], datetime], None]] = {
    "RequestTriaged": _stamped(lambda row, d: row.update(_triaged(d, row["received_at"]))),
    "RequestAcknowledged": _stamped(_acknowledged),
    "RequestOwnershipTaken": _stamped(lambda row, d: row.update(owner=d["owner"])),
    "RequestProgressed": _stamped(lambda row, d: row.update(status=d["status"])),
    "NeedConfirmed": _stamped(lambda row, d: row.update(need_confirmed_at=datetime.fromisoformat(d["confirmed_at"]))),
    "RequestUpdated": _updated,
    "ContactRecorded": _stamped(lambda row, d: row.update(contacts=row.get("contacts", 0) + 1)),
    "RequestWithdrawn": _stamped(lambda row, d: row.update(status="withdrawn")),
    "RequestMerged": _stamped(_merged),
    "RequestReopened": _stamped(lambda row, d: row.update(status="reopened", reopen_count=d["reopen_count"])),
}


class RequestsProjection:
    name = "requests"
    tables = ("requests",)

    def __init__(self, schema: str) -> None:
        self.s = ident(schema)

    def on_schema(self, schema: str) -> "RequestsProjection":
        return RequestsProjection(schema)

    async def apply(self, conn: Conn, env: Envelope) -> None:
        await self.apply_batch(conn, [env])

    async def apply_batch(self, conn: Conn, events: list[Envelope]) -> None:
        """`events` folded in order; the rows as one event at a time would leave them."""
        at = 0
        for i, env in enumerate(events):
            if env.name == "CustomerErased":  # it marks rows beyond the batch's: what came before first
                await self._fold(conn, events[at:i])
                await fetch(conn, f"UPDATE {self.s}.requests SET customer_erased = true WHERE customer_id = $1",
                            env.data["customer_id"])
                at = i + 1
        await self._fold(conn, events[at:])

    async def _fold(self, conn: Conn, events: list[Envelope]) -> None:
        if not events:
            return
        # Every row the batch touches is read first, a new one's too: a replay may receive again a
        # request already there (then what it holds beyond the submission stays, as an upsert's).
        # Joined to the ids rather than `id = ANY(...)`: that statement's plan, kept by a pooled
        # connection from an earlier rebuild, did not fit the next rebuild's new, growing table
        # (the second rebuild in a process read rows 45 times slower and ran at half the speed).
        touched = list({e.data["request_id"] for e in events if e.name in FOLDS or e.name == "RequestReceived"})
        found = await fetch(conn, f"SELECT {', '.join(COLUMNS)} FROM unnest($1::text[]) AS t(id) "
                            f"JOIN {self.s}.requests USING (id)",
                            touched) if touched else []
        rows: dict[str, Row] = {r["id"]: dict(r) for r in found}
        changed: dict[str, Row] = {}
        for env in events:
            d = env.data
            if env.name == "RequestReceived":
                received = _received(d, env.time)
                row = rows.get(d["request_id"])
                if row is None:
                    rows[received["id"]] = received
                else:  # as an upsert would: what was there stays, updated_at too
                    row.update({k: v for k, v in received.items() if k != "updated_at"})
            elif (fold := FOLDS.get(env.name)) is not None and (row := rows.get(d["request_id"])) is not None:
                fold(row, d, env.time)
            else:
                continue
            changed[d["request_id"]] = rows[d["request_id"]]
        await self._write(conn, changed)

    async def _write(self, conn: Conn, rows: dict[str, Row]) -> None:
        # Rows of one shape go in one pipelined statement; a new row lacks the columns it has not
        # yet been given, which keep their defaults.
        shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for row in rows.values():
            shapes.setdefault(tuple(row), []).append(tuple(row.values()))
        for columns, values in shapes.items():
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "id")
            await conn.executemany(
                f"INSERT INTO {self.s}.requests ({', '.join(columns)}) "
                f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))}) "
                f"ON CONFLICT (id) DO UPDATE SET {updates}", values)
