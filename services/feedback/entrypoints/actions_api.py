"""Improvement actions (plan, do, check, act, done): opened from feedback or by hand, owned, due."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import Field

from services.feedback.domain import commands as cmd
from services.feedback.domain.actions import ImprovementAction
from services.feedback.entrypoints.api import Body, Text, answered, feedback_of
from services.feedback.entrypoints.handling_api import DESK, with_overdue
from services.feedback.service_layer.feedback import Feedback
from shared import limits
from shared.auth import Principal
from shared.errors import NotFound
from shared.http.idempotency import Idempotency, idempotency, json_response
from shared.limits import PathId

router = APIRouter(prefix="/v1", tags=["actions"])


class OpenAction(Body):
    title: limits.Name
    plan: Text
    owner: limits.Name
    due_at: limits.Instant
    answers: list[limits.Id] = Field(default_factory=list, max_length=limits.LINKS_MAX, description="feedback item ids")


class Progress(Body):
    stage: limits.Code
    note: Text


def action_view(a: ImprovementAction) -> dict[str, Any]:
    return {"id": a.id, "title": a.title, "plan": a.plan, "stage": a.stage, "owner": a.owner, "due_at": a.due_at,
            "answers": a.answers, "opened_by": a.opened_by, "opened_at": a.opened_at, "history": a.history,
            "version": a.version}


@router.get("/actions/{action_id}")
async def read_action(action_id: PathId, _: Principal = Depends(DESK), f: Feedback = Depends(feedback_of)) -> Response:
    """The action, its plan, where it is in the cycle and each step so far (stage, note, by, at)."""
    async with f.db.connect() as conn:
        action = await f.actions.get(conn, action_id)
    if action is None:
        raise NotFound(f"no improvement action {action_id!r}")
    return json_response(action_view(action))


@router.post("/actions", status_code=201)
async def open_action(body: OpenAction, principal: Principal = Depends(DESK),
                      idem: Idempotency = Depends(idempotency("open-action")),
                      f: Feedback = Depends(feedback_of)) -> Response:
    """Opened from complaints or suggestions (`answers`), or by hand."""
    c = cmd.OpenImprovementAction(body.title, body.plan, body.owner, body.due_at, principal.subject, tuple(body.answers))
    return answered(await f.bus.handle(c, idem, view=action_view, status=201))


@router.post("/actions/{action_id}/progress")
async def progress_action(action_id: PathId, body: Progress, principal: Principal = Depends(DESK),
                          idem: Idempotency = Depends(idempotency("progress-action")),
                          f: Feedback = Depends(feedback_of)) -> Response:
    c = cmd.ProgressImprovementAction(action_id, body.stage, body.note, principal.subject)
    return answered(await f.bus.handle(c, idem, view=action_view))


@router.get("/queues/actions")
async def open_actions(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(DESK),
                       f: Feedback = Depends(feedback_of)) -> Response:
    """Improvement actions not done, by due date; `overdue` past it."""
    async with f.db.connect() as conn:
        return json_response(with_overdue(await f.tables.open_actions(conn, limit), "due_at", f.clock.now()))
