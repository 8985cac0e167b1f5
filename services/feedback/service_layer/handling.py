"""Feedback the desk handles: items (complaints, suggestions, praise) and improvement actions.
Each change is one transaction with its working table; a retried command records nothing twice."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.items import FeedbackItem
from services.feedback.service_layer.handlers import Feedback
from shared.aggregate import IdSource
from shared.contracts import feedback as ev
from shared.db import Conn
from shared.errors import NotFound
from shared.retry import on_conflict


async def receive(f: Feedback, kind: str, request_id: str | None, text: str, by: str, seed: str | None
                  ) -> ev.FeedbackReceived:
    ids = IdSource(seed)
    now = f.clock.now()
    item_id = ids.next()
    event = ev.FeedbackReceived(feedback_id=item_id, subject_id=request_id or item_id, kind=kind,
                                request_id=request_id, text=text, given_by=by, respond_by=now + f.deadlines[kind],
                                received_at=now)
    async with f.db.begin() as conn:
        await f.items.store.append(conn, f.items.stream_id(item_id), f.items.envelopes([event], ids), 0)
        await f.tables.add_item(conn, item_id, kind, request_id, by, event.respond_by, now)
    return event


async def item_of(conn: Conn, f: Feedback, item_id: str) -> FeedbackItem:
    item = await f.items.get(conn, item_id)
    if item is None:
        raise NotFound(f"no feedback {item_id!r}")
    return item


async def action_of(conn: Conn, f: Feedback, action_id: str) -> ImprovementAction:
    action = await f.actions.get(conn, action_id)
    if action is None:
        raise NotFound(f"no improvement action {action_id!r}")
    return action


async def change_item(f: Feedback, item_id: str, seed: str | None, act: Callable[[FeedbackItem], None]) -> FeedbackItem:
    async def attempt() -> FeedbackItem:
        ids = IdSource(seed)
        async with f.db.begin() as conn:
            item = await item_of(conn, f, item_id)
            if ids.seeded and ids.peek() in item.recorded_ids:
                return item
            act(item)
            await f.items.save(conn, item_id, item, ids)
            await f.tables.save_item(conn, item)
        return item

    return await on_conflict(attempt)


async def escalate_late_complaints(f: Feedback, limit: int = 200) -> int:
    """Complaints past their deadline without an outcome go up, each once (rows locked SKIP LOCKED)."""
    now = f.clock.now()
    async with f.db.begin() as conn:
        late = await f.tables.late_complaints(conn, now, limit)
        for item_id in late:
            item = await item_of(conn, f, item_id)
            if item.escalate_if_late(now):
                await f.items.save(conn, item_id, item, IdSource(f"escalate:{item_id}"))
            await f.tables.save_item(conn, item)
    return len(late)


async def open_action(f: Feedback, title: str, plan: str, owner: str, due_at: datetime, answers: list[str],
                      by: str, seed: str | None) -> ImprovementAction:
    ids = IdSource(seed)
    action = ImprovementAction.open(ids.next(), title, plan, owner, due_at, answers, by, f.clock.now())
    async with f.db.begin() as conn:
        for item_id in answers:
            await item_of(conn, f, item_id)  # it must answer feedback that exists
        await f.actions.save(conn, action.id, action, ids)
        await f.tables.save_action(conn, action)
    return action


async def progress_action(f: Feedback, action_id: str, stage: str, note: str, by: str,
                          seed: str | None) -> ImprovementAction:
    ids = IdSource(seed)
    async with f.db.begin() as conn:
        action = await action_of(conn, f, action_id)
        if not (ids.seeded and ids.peek() in action.recorded_ids):
            action.progress(stage, note, by, f.clock.now())
            await f.actions.save(conn, action_id, action, ids)
            await f.tables.save_action(conn, action)
    return action
