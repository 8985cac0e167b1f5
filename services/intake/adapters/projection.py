"""Folds intake's own events into the requests read model (run by ProjectionRunner)."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

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


class RequestsProjection:
    name = "requests"
    tables = ("requests",)

    def __init__(self, schema: str) -> None:
        self.s = ident(schema)

    def on_schema(self, schema: str) -> "RequestsProjection":
        return RequestsProjection(schema)

    async def apply(self, conn: Conn, env: Envelope) -> None:
        handler = getattr(self, f"_on_{env.name}", None)
        if handler is not None:
            await handler(conn, env.data, env.time)

    async def _set(self, conn: Conn, request_id: str, updated: datetime, **columns: Any) -> None:
        names = list(columns)
        assignments = ", ".join(f"{n} = ${i + 3}" for i, n in enumerate(names))
        await fetch(conn, f"UPDATE {self.s}.requests SET updated_at = $2, {assignments} WHERE id = $1",
                    request_id, updated, *columns.values())

    async def apply_batch(self, conn: Conn, events: list[Envelope]) -> None:
        """As `apply` one by one, but a submission (RequestReceived and its RequestTriaged, appended
        together) becomes one row, written with the batch's others in one pipelined statement.
        """
        submitted: dict[str, dict[str, Any]] = {}
        for env in events:
            row = submitted.get(env.data.get("request_id"))
            if env.name == "RequestReceived":
                submitted[env.data["request_id"]] = _received(env.data, env.time)
            elif env.name == "RequestTriaged" and row is not None and "priority" not in row:
                row.update(_triaged(env.data, row["received_at"]), updated_at=env.time)
            else:
                await self._insert(conn, submitted)  # what came before is written before this
                submitted = {}
                await self.apply(conn, env)
        await self._insert(conn, submitted)

    async def _insert(self, conn: Conn, rows: dict[str, dict[str, Any]]) -> None:
        shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for row in rows.values():
            shapes.setdefault(tuple(row), []).append(tuple(row.values()))
        for columns, values in shapes.items():
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in ("id", "updated_at"))
            await conn.executemany(
                f"INSERT INTO {self.s}.requests ({', '.join(columns)}) "
                f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))}) "
                f"ON CONFLICT (id) DO UPDATE SET {updates}", values)

    async def _on_RequestReceived(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        row = _received(d, at)
        await self._insert(conn, {row["id"]: row})

    async def _on_RequestTriaged(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        rows = await fetch(conn, f"SELECT received_at FROM {self.s}.requests WHERE id = $1", d["request_id"])
        await self._set(conn, d["request_id"], at, **_triaged(d, rows[0][0]))

    async def _on_RequestAcknowledged(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        # As the aggregate: answering a request someone already holds leaves it with them.
        await fetch(conn, f"UPDATE {self.s}.requests SET updated_at = $2, acknowledged_at = $3, status = CASE "
                          f"WHEN status IN ('triaged', 'reopened') THEN 'acknowledged' ELSE status END WHERE id = $1",
                    d["request_id"], at, datetime.fromisoformat(d["acknowledged_at"]))

    async def _on_RequestOwnershipTaken(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        await self._set(conn, d["request_id"], at, owner=d["owner"])

    async def _on_RequestProgressed(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        await self._set(conn, d["request_id"], at, status=d["status"])

    async def _on_NeedConfirmed(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        await self._set(conn, d["request_id"], at, need_confirmed_at=datetime.fromisoformat(d["confirmed_at"]))

    async def _on_RequestUpdated(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        changes = {**d["changes"], **d.get("personal_changes", {})}
        columns = {name.replace(".", "_"): change["after"] for name, change in changes.items()}
        columns = {k: v for k, v in columns.items() if k in UPDATABLE_COLUMNS}
        if columns:
            await self._set(conn, d["request_id"], at, **columns)

    async def _on_ContactRecorded(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        await fetch(conn, f"UPDATE {self.s}.requests SET contacts = contacts + 1, updated_at = $2 WHERE id = $1",
                    d["request_id"], at)

    async def _on_RequestWithdrawn(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        await self._set(conn, d["request_id"], at, status="withdrawn")

    async def _on_RequestMerged(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        await self._set(conn, d["request_id"], at, status="merged", merged_into=d["into_request_id"])

    async def _on_CustomerErased(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        # The rows' personal columns hold tokens that no longer open: nothing to clear, only noted.
        await fetch(conn, f"UPDATE {self.s}.requests SET customer_erased = true WHERE customer_id = $1",
                    d["customer_id"])

    async def _on_RequestReopened(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        await self._set(conn, d["request_id"], at, status="reopened", reopen_count=d["reopen_count"])
