"""Feedback handled by the desk: complaints and other items, call-backs, and the queues."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import Field

from services.feedback.entrypoints.api import Body, Text, closure_view, feedback_of, owned_by
from services.feedback.service_layer import handlers
from services.feedback.service_layer.handlers import Feedback
from shared import limits
from shared.auth import Principal, Role, require_roles
from shared.http.idempotency import Idempotency, idempotency, json_response
from shared.limits import PathId

router = APIRouter(prefix="/v1", tags=["handling"])

DESK = require_roles(Role.agent)


class Acknowledge(Body):
    note: Text | None = None


class Outcome(Body):
    outcome: Text


def item_view(item: Any) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "status": item.status, "respond_by": item.respond_by,
            "escalated": item.escalated, "version": item.version}


@router.get("/feedback/{feedback_id}")
async def read_feedback(feedback_id: PathId, _: Principal = Depends(DESK), f: Feedback = Depends(feedback_of)) -> Response:
    async with f.db.connect() as conn:
        return json_response(item_view(await handlers.item_of(conn, f, feedback_id)))


@router.post("/feedback/{feedback_id}/acknowledge")
async def acknowledge_feedback(feedback_id: PathId, body: Acknowledge | None = None, principal: Principal = Depends(DESK),
                               idem: Idempotency = Depends(idempotency("ack-feedback")),
                               f: Feedback = Depends(feedback_of)) -> Response:
    if (replayed := await idem.replay()) is not None:
        return replayed
    item = await handlers.change_item(f, feedback_id, idem.seed, lambda i: i.acknowledge(
        principal.subject, body.note if body else None, f.clock.now()))
    return await idem.remember(200, item_view(item))


class Findings(Body):
    findings: Text


@router.post("/feedback/{feedback_id}/investigate")
async def investigate_feedback(feedback_id: PathId, body: Findings, principal: Principal = Depends(DESK),
                               idem: Idempotency = Depends(idempotency("investigate-feedback")),
                               f: Feedback = Depends(feedback_of)) -> Response:
    if (replayed := await idem.replay()) is not None:
        return replayed
    item = await handlers.change_item(f, feedback_id, idem.seed, lambda i: i.investigate(
        principal.subject, body.findings, f.clock.now()))
    return await idem.remember(200, item_view(item))


@router.post("/feedback/{feedback_id}/resolve")
async def resolve_feedback(feedback_id: PathId, body: Outcome, principal: Principal = Depends(DESK),
                           idem: Idempotency = Depends(idempotency("resolve-feedback")),
                           f: Feedback = Depends(feedback_of)) -> Response:
    """Handle it with an outcome (a complaint handled after its deadline says so)."""
    if (replayed := await idem.replay()) is not None:
        return replayed
    item = await handlers.change_item(f, feedback_id, idem.seed, lambda i: i.resolve(
        body.outcome, principal.subject, f.clock.now()))
    return await idem.remember(200, item_view(item))


@router.post("/requests/{request_id}/follow-up")
async def complete_follow_up(request_id: PathId, body: Outcome, principal: Principal = Depends(DESK),
                             idem: Idempotency = Depends(idempotency("follow-up")),
                             f: Feedback = Depends(feedback_of)) -> Response:
    if (replayed := await idem.replay()) is not None:
        return replayed
    closure = await handlers.complete_follow_up(f, request_id, body.outcome, principal.subject, idem.seed,
                                                owned_by(principal, request_id))
    return await idem.remember(200, closure_view(closure))


def _overdue(rows: list[dict[str, Any]], due: str, now: Any) -> list[dict[str, Any]]:
    return [{**r, "overdue": r[due] is not None and now > r[due]} for r in rows]


@router.get("/queues/complaints")
async def complaints(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(DESK),
                     f: Feedback = Depends(feedback_of)) -> Response:
    """Open complaints by deadline."""
    async with f.db.connect() as conn:
        return json_response(_overdue(await f.tables.open_complaints(conn, limit), "respond_by", f.clock.now()))


@router.get("/queues/follow-ups")
async def follow_ups(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(DESK),
                     f: Feedback = Depends(feedback_of)) -> Response:
    """Call-backs to make, soonest first; `overdue` past their time."""
    async with f.db.connect() as conn:
        return json_response(_overdue(await f.tables.follow_ups(conn, limit), "follow_up_due", f.clock.now()))


@router.get("/queues/confirmations")
async def confirmations(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(DESK),
                        f: Feedback = Depends(feedback_of)) -> Response:
    """Resolved requests waiting for the customer's word, by when silence closes them."""
    async with f.db.connect() as conn:
        return json_response(await f.tables.pending_confirmations(conn, limit))


class OpenAction(Body):
    title: limits.Name
    plan: Text
    owner: limits.Name
    due_at: limits.Instant
    answers: list[limits.Id] = Field(default_factory=list, max_length=limits.LINKS_MAX, description="feedback item ids")


class Progress(Body):
    stage: limits.Code
    note: Text


def action_view(a: Any) -> dict[str, Any]:
    return {"id": a.id, "stage": a.stage, "owner": a.owner, "due_at": a.due_at, "answers": a.answers,
            "version": a.version}


@router.post("/actions", status_code=201)
async def open_action(body: OpenAction, principal: Principal = Depends(DESK),
                      idem: Idempotency = Depends(idempotency("open-action")),
                      f: Feedback = Depends(feedback_of)) -> Response:
    """Opened from complaints or suggestions (`answers`), or by hand."""
    if (replayed := await idem.replay()) is not None:
        return replayed
    action = await handlers.open_action(f, body.title, body.plan, body.owner, body.due_at, body.answers,
                                        principal.subject, idem.seed)
    return await idem.remember(201, action_view(action))


@router.post("/actions/{action_id}/progress")
async def progress_action(action_id: PathId, body: Progress, principal: Principal = Depends(DESK),
                          idem: Idempotency = Depends(idempotency("progress-action")),
                          f: Feedback = Depends(feedback_of)) -> Response:
    if (replayed := await idem.replay()) is not None:
        return replayed
    action = await handlers.progress_action(f, action_id, body.stage, body.note, principal.subject, idem.seed)
    return await idem.remember(200, action_view(action))


@router.get("/queues/actions")
async def open_actions(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(DESK),
                       f: Feedback = Depends(feedback_of)) -> Response:
    """Improvement actions not done, by due date; `overdue` past it."""
    async with f.db.connect() as conn:
        return json_response(_overdue(await f.tables.open_actions(conn, limit), "due_at", f.clock.now()))
