"""Feedback handled by the desk: complaints and other items, call-backs, and the queues."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.feedback.domain import commands as cmd
from services.feedback.domain.items import FeedbackItem
from services.feedback.entrypoints.api import CUSTOMER_SIDE, Body, Text, answered, caller_of, closure_view, feedback_of
from services.feedback.service_layer.feedback import Feedback
from shared.auth import Principal, Role, require_roles
from shared.errors import NotFound
from shared.http.idempotency import Idempotency, idempotency, json_response
from shared.limits import PathId
from shared.shredding.keyring import Reader

router = APIRouter(prefix="/v1", tags=["handling"])

DESK = require_roles(Role.agent)


class Acknowledge(Body):
    note: Text | None = None


class Outcome(Body):
    outcome: Text


def item_view(item: FeedbackItem) -> dict[str, Any]:
    """What was said and what came of it: `outcome` is null until the item is resolved."""
    return {"id": item.id, "kind": item.kind, "request_id": item.request_id, "via": item.via, "text": item.text,
            "customer_id": item.data_subject,  # whose words the text is
            "status": item.status, "received_at": item.received_at, "respond_by": item.respond_by,
            "escalated": item.escalated, "outcome": item.outcome, "resolved_at": item.resolved_at,
            "within_deadline": item.within_deadline, "version": item.version}


@router.get("/feedback/{feedback_id}")
async def read_feedback(feedback_id: PathId, principal: Principal = Depends(CUSTOMER_SIDE),
                        f: Feedback = Depends(feedback_of)) -> Response:
    """The item, its text and its outcome. A customer reads what they gave; anyone else's does not exist for them."""
    async with f.db.connect() as conn:
        item = await f.items.get(conn, feedback_id)
    if item is None or (principal.role is Role.customer and item.given_by != principal.subject):
        raise NotFound(f"no feedback {feedback_id!r}")
    body = item_view(item)
    await shown(f, principal, "GET", f"/v1/feedback/{feedback_id}", body)
    return json_response(body)


async def shown(f: Feedback, principal: Principal, method: str, path: str, body: Any) -> None:
    """Record that `principal` was shown an item's text (the customer's personal data)."""
    if isinstance(body, dict) and body.get("customer_id"):
        reader = Reader.of(principal.subject, principal.role.value, method, path)
        await f.keys.record_shown(reader, body["customer_id"], body, ("text",))


@router.post("/feedback/{feedback_id}/acknowledge")
async def acknowledge_feedback(feedback_id: PathId, body: Acknowledge | None = None, principal: Principal = Depends(DESK),
                               idem: Idempotency = Depends(idempotency("ack-feedback")),
                               f: Feedback = Depends(feedback_of)) -> Response:
    c = cmd.AcknowledgeFeedback(feedback_id, principal.subject, body.note if body else None)
    answer = await f.bus.handle(c, idem, view=item_view)
    await shown(f, principal, "POST", f"/v1/feedback/{feedback_id}/acknowledge", answer.body)
    return answered(answer)


class Findings(Body):
    findings: Text


@router.post("/feedback/{feedback_id}/investigate")
async def investigate_feedback(feedback_id: PathId, body: Findings, principal: Principal = Depends(DESK),
                               idem: Idempotency = Depends(idempotency("investigate-feedback")),
                               f: Feedback = Depends(feedback_of)) -> Response:
    c = cmd.InvestigateFeedback(feedback_id, principal.subject, body.findings)
    answer = await f.bus.handle(c, idem, view=item_view)
    await shown(f, principal, "POST", f"/v1/feedback/{feedback_id}/investigate", answer.body)
    return answered(answer)


@router.post("/feedback/{feedback_id}/resolve")
async def resolve_feedback(feedback_id: PathId, body: Outcome, principal: Principal = Depends(DESK),
                           idem: Idempotency = Depends(idempotency("resolve-feedback")),
                           f: Feedback = Depends(feedback_of)) -> Response:
    """Handle it with an outcome (a complaint handled after its deadline says so)."""
    c = cmd.ResolveFeedback(feedback_id, principal.subject, body.outcome)
    answer = await f.bus.handle(c, idem, view=item_view)
    await shown(f, principal, "POST", f"/v1/feedback/{feedback_id}/resolve", answer.body)
    return answered(answer)


@router.post("/requests/{request_id}/follow-up")
async def complete_follow_up(request_id: PathId, body: Outcome, principal: Principal = Depends(DESK),
                             idem: Idempotency = Depends(idempotency("follow-up")),
                             f: Feedback = Depends(feedback_of)) -> Response:
    c = cmd.CompleteFollowUp(request_id, body.outcome, caller_of(principal))
    return answered(await f.bus.handle(c, idem, view=closure_view))


def with_overdue(rows: list[dict[str, Any]], due: str, now: Any) -> list[dict[str, Any]]:
    return [{**r, "overdue": r[due] is not None and now > r[due]} for r in rows]


@router.get("/queues/complaints")
async def complaints(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(DESK),
                     f: Feedback = Depends(feedback_of)) -> Response:
    """Open complaints by deadline."""
    async with f.db.connect() as conn:
        return json_response(with_overdue(await f.tables.open_complaints(conn, limit), "respond_by", f.clock.now()))


@router.get("/queues/follow-ups")
async def follow_ups(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(DESK),
                     f: Feedback = Depends(feedback_of)) -> Response:
    """Call-backs to make, soonest first; `overdue` past their time."""
    async with f.db.connect() as conn:
        return json_response(with_overdue(await f.tables.follow_ups(conn, limit), "follow_up_due", f.clock.now()))


@router.get("/queues/confirmations")
async def confirmations(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(DESK),
                        f: Feedback = Depends(feedback_of)) -> Response:
    """Resolved requests waiting for the customer's word, by when silence closes them."""
    async with f.db.connect() as conn:
        return json_response(await f.tables.pending_confirmations(conn, limit))
