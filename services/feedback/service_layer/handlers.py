"""Feedback's use cases: each change to a request's closure is one transaction with its tables.
(Feedback items and improvement actions are in `handling`.)"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from services.feedback.adapters.survey_links import SurveyLinks
from services.feedback.adapters.tables import FeedbackTables
from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.closure import Closure, FollowUpRule
from services.feedback.domain.items import FeedbackItem
from shared.aggregate import IdSource
from shared.clock import Clock
from shared.contracts import dispatch
from shared.db import Conn, Database
from shared.errors import NotFound
from shared.repository import EventSourcedRepository
from shared.retry import on_conflict


@dataclass
class Feedback:
    closures: EventSourcedRepository[Closure]
    items: EventSourcedRepository[FeedbackItem]
    tables: FeedbackTables
    links: SurveyLinks
    db: Database
    clock: Clock
    confirmation_wait: timedelta
    survey_ttl: timedelta
    follow_up_in: timedelta
    deadlines: dict[str, timedelta]
    follow_ups: FollowUpRule
    actions: EventSourcedRepository[ImprovementAction]


async def closure_of(conn: Conn, f: Feedback, request_id: str) -> Closure:
    return await f.closures.get(conn, request_id) or Closure.for_request(request_id)


async def save(conn: Conn, f: Feedback, closure: Closure, ids: IdSource) -> None:
    await f.closures.save(conn, closure.request_id, closure, ids)
    await f.tables.save_closure(conn, closure, f.clock.now())


async def on_resolved(conn: Conn, f: Feedback, event: dispatch.IssueResolved, ids: IdSource) -> None:
    """The work is done (dispatch's published fact, typed): ask the customer to confirm."""
    closure = await closure_of(conn, f, event.request_id)
    closure.resolved(event.resolution_code, event.summary, f.confirmation_wait, f.clock.now())
    await save(conn, f, closure, ids)


async def on_gone(conn: Conn, f: Feedback, request_id: str, how: str, ids: IdSource) -> None:
    closure = await closure_of(conn, f, request_id)
    closure.close_without_survey(how, f.clock.now())
    await save(conn, f, closure, ids)


def follow_up(f: Feedback, facts: dict[str, Any]) -> tuple[str, timedelta] | None:
    reason = f.follow_ups.reason(facts.get("priority"), facts.get("kind"))
    return (reason, f.follow_ups.within) if reason else None


async def change(f: Feedback, request_id: str, seed: str | None, check: Callable[[str | None], None],
                 act: Callable[[Closure, IdSource, dict[str, Any]], None]) -> Closure:
    async def attempt() -> Closure:
        ids = IdSource(seed)
        async with f.db.begin() as conn:
            facts = await f.tables.request_facts(conn, request_id)
            check(facts.get("customer_id"))
            closure = await closure_of(conn, f, request_id)
            if ids.seeded and ids.peek() in closure.recorded_ids:
                return closure
            act(closure, ids, facts)
            await save(conn, f, closure, ids)
        return closure

    return await on_conflict(attempt)


async def answer(f: Feedback, request_id: str, accepted: bool, reason: str | None, by: str, seed: str | None,
                 check: Callable[[str | None], None]) -> Closure:
    return await change(f, request_id, seed, check, lambda c, ids, facts: c.answer(
        accepted, reason, by, _survey_id(ids, request_id), f.survey_ttl, f.clock.now(), follow_up(f, facts)))


async def complete_follow_up(f: Feedback, request_id: str, outcome: str, by: str, seed: str | None,
                             check: Callable[[str | None], None]) -> Closure:
    return await change(f, request_id, seed, check, lambda c, ids, facts: c.complete_follow_up(
        outcome, by, f.clock.now()))


def _survey_id(ids: IdSource, request_id: str) -> str:
    return f"{request_id}:{ids.next()}"


async def close_due(f: Feedback, limit: int = 200) -> int:
    """Close the requests whose customer never answered (exactly once: rows locked SKIP LOCKED)."""
    now = f.clock.now()
    async with f.db.begin() as conn:
        due = await f.tables.due_closures(conn, now, limit)
        for request_id in due:
            closure = await closure_of(conn, f, request_id)
            ids = IdSource(f"auto-close:{request_id}:{closure.version}")
            facts = await f.tables.request_facts(conn, request_id)
            closure.close_unanswered(_survey_id(ids, request_id), f.survey_ttl, now, follow_up(f, facts))
            await save(conn, f, closure, ids)
    return len(due)


async def return_survey(f: Feedback, request_id: str, survey_id: str, answers: dict[str, Any]) -> Closure:
    async with f.db.begin() as conn:
        closure = await f.closures.get(conn, request_id)
        if closure is None:
            raise NotFound(f"no survey for request {request_id!r}")
        closure.return_survey(survey_id, answers["csat"], answers.get("nps"), answers.get("dimensions") or {},
                              answers.get("comment"), f.follow_up_in, f.clock.now())
        await save(conn, f, closure, IdSource())
    return closure
