"""Feedback's working tables, written in the same transaction as the events they follow."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.closure import Closure
from services.feedback.domain.items import FeedbackItem
from shared.db import Conn, execute, execute_each, fetch, ident


class FeedbackTables:
    def __init__(self, schema: str) -> None:
        self.s = ident(schema)

    async def note_request(self, conn: Conn, request_id: str, **facts: str | bool) -> None:
        """What feedback needs to know of a request: whose it is, its priority and kind, whether
        dispatch works it."""
        names = list(facts)
        await execute(conn, f"INSERT INTO {self.s}.requests AS r (request_id, {', '.join(names)}) "
                            f"VALUES ($1, {', '.join(f'${i + 2}' for i in range(len(names)))}) ON CONFLICT (request_id) "
                            f"DO UPDATE SET {', '.join(f'{n} = EXCLUDED.{n}' for n in names)}",
                      request_id, *facts.values())

    async def request_facts(self, conn: Conn, request_id: str) -> dict[str, Any]:
        rows = await fetch(conn, f"SELECT customer_id, priority, kind, dispatched FROM {self.s}.requests WHERE request_id = $1",
                           request_id)
        return dict(rows[0]) if rows else {}

    async def customer_of(self, conn: Conn, request_id: str) -> str | None:
        return (await self.request_facts(conn, request_id)).get("customer_id")

    async def save_closure(self, conn: Conn, closure: Closure) -> None:
        await self.save_closures(conn, [closure])

    async def save_closures(self, conn: Conn, closures: Sequence[Closure]) -> None:
        """`updated_at`: when a closure's latest events were recorded (the same rebuilt as live)."""
        await execute_each(conn, f"INSERT INTO {self.s}.closures VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) "
                                 f"DO UPDATE SET status = EXCLUDED.status, closes_at = EXCLUDED.closes_at, "
                                 f"follow_up_due = EXCLUDED.follow_up_due, updated_at = EXCLUDED.updated_at",
                           [(c.request_id, c.status, c.closes_at, c.follow_up_due, c.changed_at) for c in closures])

    async def due_closures(self, conn: Conn, now: datetime, limit: int) -> list[str]:
        """Unanswered past their time, locked so that another replica skips them."""
        rows = await fetch(conn, f"SELECT request_id FROM {self.s}.closures WHERE status = 'awaiting_confirmation' "
                                 f"AND closes_at <= $1 ORDER BY closes_at LIMIT $2 FOR UPDATE SKIP LOCKED", now, limit)
        return [r[0] for r in rows]

    async def save_item(self, conn: Conn, item: FeedbackItem) -> None:
        await self.save_items(conn, [item])

    async def save_items(self, conn: Conn, items: Sequence[FeedbackItem]) -> None:
        """The items' rows for the queues: written when each is received, then kept in step."""
        await execute_each(conn, f"INSERT INTO {self.s}.feedback_items (id, kind, request_id, given_by, status, "
                                 f"respond_by, received_at, escalated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                                 f"ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, escalated = EXCLUDED.escalated",
                           [(i.id, i.kind, i.request_id, i.given_by, i.status, i.respond_by, i.received_at, i.escalated)
                            for i in items])

    async def late_complaints(self, conn: Conn, now: datetime, limit: int) -> list[str]:
        rows = await fetch(conn, f"SELECT id FROM {self.s}.feedback_items WHERE kind = 'complaint' AND "
                                 f"status NOT IN ('resolved', 'withdrawn') AND NOT escalated AND respond_by <= $1 "
                                 f"ORDER BY respond_by LIMIT $2 FOR UPDATE SKIP LOCKED", now, limit)
        return [r[0] for r in rows]

    async def open_complaints(self, conn: Conn, limit: int) -> list[dict[str, Any]]:
        rows = await fetch(conn, f"SELECT id, request_id, status, respond_by, escalated, received_at "
                                 f"FROM {self.s}.feedback_items WHERE kind = 'complaint' "
                                 f"AND status NOT IN ('resolved', 'withdrawn') "
                                 f"ORDER BY respond_by LIMIT $1", limit)
        return [dict(r) for r in rows]

    async def follow_ups(self, conn: Conn, limit: int) -> list[dict[str, Any]]:
        rows = await fetch(conn, f"SELECT request_id, follow_up_due FROM {self.s}.closures "
                                 f"WHERE follow_up_due IS NOT NULL ORDER BY follow_up_due LIMIT $1", limit)
        return [dict(r) for r in rows]

    async def pending_confirmations(self, conn: Conn, limit: int) -> list[dict[str, Any]]:
        rows = await fetch(conn, f"SELECT request_id, closes_at FROM {self.s}.closures "
                                 f"WHERE status = 'awaiting_confirmation' ORDER BY closes_at LIMIT $1", limit)
        return [dict(r) for r in rows]

    async def save_action(self, conn: Conn, action: ImprovementAction) -> None:
        await self.save_actions(conn, [action])

    async def save_actions(self, conn: Conn, actions: Sequence[ImprovementAction]) -> None:
        await execute_each(conn, f"INSERT INTO {self.s}.actions VALUES ($1, $2, $3, $4, $5, $6::text[]) "
                                 f"ON CONFLICT (id) DO UPDATE SET stage = EXCLUDED.stage",
                           [(a.id, a.title, a.owner, a.stage, a.due_at, a.answers) for a in actions])

    async def open_actions(self, conn: Conn, limit: int) -> list[dict[str, Any]]:
        rows = await fetch(conn, f"SELECT id, title, owner, stage, due_at, answers FROM {self.s}.actions "
                                 f"WHERE stage <> 'done' ORDER BY due_at LIMIT $1", limit)
        return [dict(r) for r in rows]
