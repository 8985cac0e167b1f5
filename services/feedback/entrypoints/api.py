"""Feedback's HTTP API (CONTRACT.md: confirmation, survey, feedback)."""
from __future__ import annotations

from enum import Enum
from typing import Any, Callable

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.feedback.adapters.survey_links import BadSurveyLink, ExpiredSurveyLink
from services.feedback.domain.closure import Closure
from services.feedback.service_layer import handlers, handling
from services.feedback.service_layer.handlers import Feedback
from shared import limits
from shared.auth import Principal, Role, require_roles
from shared.errors import InvalidTransition, NotFound
from shared.http.idempotency import Idempotency, idempotency, json_response
from shared.limits import PathId, SurveyToken

router = APIRouter(prefix="/v1", tags=["feedback"])
CUSTOMER_SIDE = require_roles(Role.customer, Role.agent)
# Bodies' fields are bounded by shared/limits.py: free text a few pages at most.
Text = limits.Text
Score5 = limits.Score


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Confirmation(Body):
    accepted: bool
    reason: Text | None = None


class Survey(Body):
    csat: Score5
    nps: limits.Nps | None = None
    dimensions: dict[limits.Code, Score5] | None = Field(default=None, max_length=limits.DIMENSIONS_MAX)
    comment: Text | None = None


class Kind(str, Enum):
    complaint = "complaint"
    suggestion = "suggestion"
    praise = "praise"


class FeedbackBody(Body):
    kind: Kind
    request_id: limits.Id | None = None
    text: Text


async def feedback_of(request: Request) -> Feedback:
    return request.app.state.feedback


def owned_by(principal: Principal, request_id: str) -> Callable[[str | None], None]:
    """Customers act on their own requests only; anyone else's does not exist for them."""

    def check(customer_id: str | None) -> None:
        if customer_id is None or (principal.role is Role.customer and customer_id != principal.subject):
            raise NotFound(f"no request {request_id!r} awaiting feedback")

    return check


def closure_view(c: Closure) -> dict[str, Any]:
    return {"request_id": c.request_id, "status": c.status, "closes_at": c.closes_at,
            "survey_sent": c.survey_id is not None, "survey_returned": c.survey_returned,
            "rejections": c.rejections, "version": c.version}


@router.post("/requests/{request_id}/confirmation")
async def confirm(request_id: PathId, body: Confirmation, principal: Principal = Depends(CUSTOMER_SIDE),
                  idem: Idempotency = Depends(idempotency("confirmation")),
                  f: Feedback = Depends(feedback_of)) -> Response:
    """`accepted: true` confirms and closes (a survey is sent); `false` with a reason reopens."""
    if (replayed := await idem.replay()) is not None:
        return replayed
    closure = await handlers.answer(f, request_id, body.accepted, body.reason, principal.subject, idem.seed,
                                    owned_by(principal, request_id))
    return await idem.remember(200, closure_view(closure))


@router.get("/requests/{request_id}/closure")
async def read_closure(request_id: PathId, principal: Principal = Depends(CUSTOMER_SIDE),
                       f: Feedback = Depends(feedback_of)) -> Response:
    async with f.db.connect() as conn:
        owned_by(principal, request_id)(await f.tables.customer_of(conn, request_id))
        return json_response(closure_view(await handlers.closure_of(conn, f, request_id)))


@router.get("/requests/{request_id}/survey")
async def survey_link(request_id: PathId, principal: Principal = Depends(CUSTOMER_SIDE),
                      f: Feedback = Depends(feedback_of)) -> Response:
    """The link to send the customer; it works without an account, once, until it expires."""
    async with f.db.connect() as conn:
        owned_by(principal, request_id)(await f.tables.customer_of(conn, request_id))
        closure = await handlers.closure_of(conn, f, request_id)
    if closure.survey_id is None or closure.survey_expires is None:
        raise InvalidTransition(f"request {request_id} has no survey yet: it is {closure.status}")
    token = f.links.mint(request_id, closure.survey_id, closure.survey_expires)
    return json_response({"token": token, "url": f.links.url(token), "expires_at": closure.survey_expires})


@router.post("/surveys/{token}", status_code=201)
async def return_survey(token: SurveyToken, body: Survey, f: Feedback = Depends(feedback_of)) -> Response:
    """No account needed: the signed link is the credential."""
    try:
        request_id, survey_id = f.links.read(token, f.clock.now())
    except ExpiredSurveyLink as exc:
        raise HTTPException(410, str(exc)) from exc
    except BadSurveyLink as exc:
        raise NotFound(str(exc)) from exc
    closure = await handlers.return_survey(f, request_id, survey_id, body.model_dump())
    return json_response({"request_id": request_id, "recorded": True, "version": closure.version}, 201)


@router.post("/feedback", status_code=201)
async def give_feedback(body: FeedbackBody, principal: Principal = Depends(CUSTOMER_SIDE),
                        idem: Idempotency = Depends(idempotency("feedback")),
                        f: Feedback = Depends(feedback_of)) -> Response:
    if (replayed := await idem.replay()) is not None:
        return replayed
    if body.request_id:
        async with f.db.connect() as conn:
            owned_by(principal, body.request_id)(await f.tables.customer_of(conn, body.request_id))
    event = await handling.receive(f, body.kind.value, body.request_id, body.text, principal.subject, idem.seed)
    return await idem.remember(201, {"id": event.feedback_id, "kind": event.kind, "request_id": event.request_id,
                                     "respond_by": event.respond_by})
