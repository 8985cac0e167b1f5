"""Reads of the requests read model: search, queues, a customer's open requests."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from shared import limits
from shared.categories import sql_in_branch
from shared.db import Conn, fetch, ident
from shared.errors import Invalid

# The lifecycle's open states (domain/lifecycle.py); the partial indexes of intake_0005 use this.
OPEN_CLAUSE = "status IN ('triaged', 'acknowledged', 'allocated', 'in_progress', 'paused', 'reopened')"
# Never answered, whoever holds it meanwhile.
AWAITING_CLAUSE = f"acknowledged_at IS NULL AND {OPEN_CLAUSE}"
COLUMNS = (
    "id, customer_id, channel, kind, category, title, priority, emergency, status, "
    "owner, triaged_by, needs_review, received_at, respond_by, resolve_by, respond_risk_at, acknowledged_at, "
    "merged_into, reopen_count, contacts"
)
_NAMES = [c.strip() for c in COLUMNS.split(",")]


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    priority: str | None = None
    channel: str | None = None
    category: str | None = None
    owner: str | None = None
    customer_id: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None


def encode_cursor(received_at: datetime, request_id: str) -> str:
    return base64.urlsafe_b64encode(f"{received_at.isoformat()}|{request_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, request_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        # A forged cursor is input like any other: its instant and id are bounded as if sent plainly.
        return limits.instant_in_range(datetime.fromisoformat(at)), limits.no_nul(request_id)
    except Exception as exc:
        raise Invalid("cursor", "not a cursor this API handed out") from exc


class RequestQueries:
    def __init__(self, schema: str) -> None:
        self.s = ident(schema)

    async def search(
        self, conn: Conn, f: Filters, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        where, params = ["received_at IS NOT NULL"], []
        for column, value in (("status", f.status), ("priority", f.priority), ("channel", f.channel),
                              ("owner", f.owner), ("customer_id", f.customer_id)):
            if value is not None:
                params.append(value)
                where.append(f"{column} = ${len(params)}")
        if f.category is not None:  # the whole branch, by the rule analytics' reports apply too
            where.append(sql_in_branch("category", f.category, params))
        for op, value in ((">=", f.received_from), ("<", f.received_to)):
            if value is not None:
                params.append(value)
                where.append(f"received_at {op} ${len(params)}")
        if cursor:
            params += list(decode_cursor(cursor))
            where.append(f"(received_at, id) < (${len(params) - 1}, ${len(params)})")
        params.append(limit + 1)
        rows = await self._rows(conn, f"WHERE {' AND '.join(where)} ORDER BY received_at DESC, id DESC "
                                      f"LIMIT ${len(params)}", *params)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1]["received_at"], rows[-1]["id"]) if more else None

    async def awaiting_response(self, conn: Conn, limit: int, offset: int) -> list[dict[str, Any]]:
        return await self._rows(
            conn, f"WHERE {AWAITING_CLAUSE} ORDER BY priority_rank, respond_by, id LIMIT $1 OFFSET $2", limit, offset)

    async def triage_queue(self, conn: Conn, limit: int, offset: int) -> list[dict[str, Any]]:
        return await self._rows(
            conn, f"WHERE needs_review AND {OPEN_CLAUSE} ORDER BY priority_rank, respond_by, id LIMIT $1 OFFSET $2",
            limit, offset)

    async def open_of_customers(self, conn: Conn, customer_ids: Sequence[str]) -> dict[str, list[tuple[str, str, str]]]:
        """Each customer's latest 50 open requests: (id, title, description)."""
        rows = await fetch(
            conn,
            f"SELECT c.customer_id, r.id, r.title, r.description FROM unnest($1::text[]) AS c(customer_id) "
            f"CROSS JOIN LATERAL (SELECT id, title, description FROM {self.s}.requests "
            f"WHERE customer_id = c.customer_id AND {OPEN_CLAUSE} ORDER BY received_at DESC LIMIT 50) r",
            list(customer_ids),
        )
        found: dict[str, list[tuple[str, str, str]]] = {}
        for customer_id, *request in rows:
            found.setdefault(customer_id, []).append(tuple(request))  # type: ignore[arg-type]
        return found

    async def past_retention(self, conn: Conn, ended_before: datetime, limit: int) -> list[str]:
        """Customers not yet erased with no open request, whose requests all last changed before
        `ended_before`: their retention is over."""
        rows = await fetch(
            conn, f"SELECT customer_id FROM {self.s}.requests GROUP BY customer_id "
                  f"HAVING NOT bool_or(customer_erased) AND NOT bool_or({OPEN_CLAUSE}) AND max(updated_at) < $1 "
                  f"ORDER BY customer_id LIMIT $2", ended_before, limit)
        return [row[0] for row in rows]

    async def _rows(self, conn: Conn, tail: str, *params: Any) -> list[dict[str, Any]]:
        rows = await fetch(conn, f"SELECT {COLUMNS} FROM {self.s}.requests {tail}", *params)
        return [dict(zip(_NAMES, row, strict=True)) for row in rows]
