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
UPDATABLE_COLUMNS = frozenset({"title", "description", "location", "customer_name", "customer_phone", "customer_email"})


@lru_cache(maxsize=64)
def _calendar(spec: str) -> BusinessCalendar:
    return BusinessCalendar.from_spec(orjson.loads(spec))


def risk_at(received: datetime, respond_by: datetime, calendar_spec: dict[str, Any]) -> datetime:
    calendar = _calendar(orjson.dumps(calendar_spec, option=orjson.OPT_SORT_KEYS).decode())
    window = calendar.business_time_between(received, respond_by)
    return calendar.add_business_time(received, window * RISK_SHARE)


class RequestsProjection:
    name = "requests"

    def __init__(self, schema: str) -> None:
        self.s = ident(schema)

    async def apply(self, conn: Conn, env: Envelope) -> None:
        handler = getattr(self, f"_on_{env.name}", None)
        if handler is not None:
            await handler(conn, env.data, env.time)

    async def _set(self, conn: Conn, request_id: str, updated: datetime, **columns: Any) -> None:
        names = list(columns)
        assignments = ", ".join(f"{n} = ${i + 3}" for i, n in enumerate(names))
        await fetch(conn, f"UPDATE {self.s}.requests SET updated_at = $2, {assignments} WHERE id = $1",
                    request_id, updated, *columns.values())

    async def _on_RequestReceived(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        c = d["customer"]
        await fetch(
            conn,
            f"INSERT INTO {self.s}.requests (id, customer_id, customer_name, customer_phone, customer_email, "
            f"channel, kind, category, title, description, location, urgency, impact, status, owner, "
            f"received_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,'triaged',$14,$15,$16) "
            f"ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, customer_name = EXCLUDED.customer_name,"
            f" customer_phone = EXCLUDED.customer_phone, customer_email = EXCLUDED.customer_email,"
            f" channel = EXCLUDED.channel, kind = EXCLUDED.kind, category = EXCLUDED.category,"
            f" title = EXCLUDED.title, description = EXCLUDED.description, location = EXCLUDED.location,"
            f" urgency = EXCLUDED.urgency, impact = EXCLUDED.impact, status = EXCLUDED.status,"
            f" owner = EXCLUDED.owner, received_at = EXCLUDED.received_at",
            d["request_id"], c["id"], c["name"], c.get("phone"), c.get("email"), d["channel"], d["kind"],
            d.get("category"), d["title"], d["description"], d.get("location"), d["urgency"], d["impact"],
            d["owner"], datetime.fromisoformat(d["received_at"]), at,
        )

    async def _on_RequestTriaged(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        rows = await fetch(conn, f"SELECT received_at FROM {self.s}.requests WHERE id = $1", d["request_id"])
        respond_by = datetime.fromisoformat(d["respond_by"])
        await self._set(
            conn, d["request_id"], at, priority=d["priority"], priority_rank=int(d["priority"][1]),
            urgency=d["urgency"], impact=d["impact"], category=d.get("category"), emergency=d["emergency"],
            respond_by=respond_by, resolve_by=datetime.fromisoformat(d["resolve_by"]),
            respond_risk_at=risk_at(rows[0][0], respond_by, d["sla"]["calendar"]),
            triaged_by=d["triaged_by"], needs_review=d["needs_review"],
        )

    async def _on_RequestAcknowledged(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        await self._set(conn, d["request_id"], at, status="acknowledged",
                        acknowledged_at=datetime.fromisoformat(d["acknowledged_at"]))

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

    async def _on_RequestReopened(self, conn: Conn, d: dict[str, Any], at: datetime) -> None:
        await self._set(conn, d["request_id"], at, status="reopened", reopen_count=d["reopen_count"])
