"""Feedback's working tables, written in the same transaction as the events they follow."""
from __future__ import annotations

from datetime import datetime

from services.feedback.domain.closure import Closure
from shared.db import Conn, execute, fetch, ident


class FeedbackTables:
    def __init__(self, schema: str) -> None:
        self.s = ident(schema)

    async def note_request(self, conn: Conn, request_id: str, customer_id: str) -> None:
        await execute(conn, f"INSERT INTO {self.s}.requests VALUES ($1, $2) ON CONFLICT DO NOTHING",
                      request_id, customer_id)

    async def customer_of(self, conn: Conn, request_id: str) -> str | None:
        rows = await fetch(conn, f"SELECT customer_id FROM {self.s}.requests WHERE request_id = $1", request_id)
        return rows[0][0] if rows else None

    async def save_closure(self, conn: Conn, closure: Closure, now: datetime) -> None:
        await execute(conn, f"INSERT INTO {self.s}.closures VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) "
                            f"DO UPDATE SET status = EXCLUDED.status, closes_at = EXCLUDED.closes_at, "
                            f"updated_at = EXCLUDED.updated_at", closure.request_id, closure.status,
                      closure.closes_at, now)

    async def due_closures(self, conn: Conn, now: datetime, limit: int) -> list[str]:
        """Unanswered past their time, locked so that another replica skips them."""
        rows = await fetch(conn, f"SELECT request_id FROM {self.s}.closures WHERE status = 'awaiting_confirmation' "
                                 f"AND closes_at <= $1 ORDER BY closes_at LIMIT $2 FOR UPDATE SKIP LOCKED", now, limit)
        return [r[0] for r in rows]

    async def add_item(self, conn: Conn, item_id: str, kind: str, request_id: str | None, given_by: str,
                       respond_by: datetime, received_at: datetime) -> None:
        await execute(conn, f"INSERT INTO {self.s}.feedback_items VALUES ($1, $2, $3, $4, 'open', $5, $6) "
                            f"ON CONFLICT (id) DO NOTHING",
                      item_id, kind, request_id, given_by, respond_by, received_at)
