"""Feedback's HTTP API (CONTRACT.md: confirmation, survey, feedback). A command route parses the
body into a command and hands it to the bus; a query reads."""
from __future__ import annotations

from enum import Enum
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.feedback.adapters.survey_links import BadSurveyLink, ExpiredSurveyLink
from services.feedback.domain import commands as cmd
from services.feedback.domain.closure import Closure
from services.feedback.service_layer.feedback import Feedback
from shared import limits
from shared.auth import Principal, Role, require_roles
from shared.errors import InvalidTransition, NotFound
from shared.http.idempotency import Idempotency, answered, idempotency, json_response
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


def caller_of(principal: Principal) -> cmd.Caller:
    return cmd.Caller(principal.subject, principal.role is Role.customer)


async def owned_closure(f: Feedback, principal: Principal, request_id: str) -> Closure:
    """A closure to read: customers read their own; anyone else's does not exist for them."""
    async with f.db.connect() as conn:
        if not caller_of(principal).owns(await f.tables.customer_of(conn, request_id)):
            raise NotFound(f"no request {request_id!r} awaiting feedback")
        return await f.closures.get(conn, request_id) or Closure.for_request(request_id)


def closure_view(c: Closure) -> dict[str, Any]:
    return {"request_id": c.request_id, "status": c.status, "closes_at": c.closes_at,
            "survey_sent": c.survey_id is not None, "survey_returned": c.survey_returned,
            "rejections": c.rejections, "version": c.version}


@router.post("/requests/{request_id}/confirmation")
async def confirm(request_id: PathId, body: Confirmation, principal: Principal = Depends(CUSTOMER_SIDE),
                  idem: Idempotency = Depends(idempotency("confirmation")),
                  f: Feedback = Depends(feedback_of)) -> Response:
    """`accepted: true` confirms and closes (a survey is sent); `false` with a reason reopens."""
    caller = caller_of(principal)
    c = (cmd.ConfirmResolution(request_id, caller) if body.accepted
         else cmd.RejectResolution(request_id, body.reason, caller))
    return answered(await f.bus.handle(c, idem, view=closure_view))


@router.get("/requests/{request_id}/closure")
async def read_closure(request_id: PathId, principal: Principal = Depends(CUSTOMER_SIDE),
                       f: Feedback = Depends(feedback_of)) -> Response:
    return json_response(closure_view(await owned_closure(f, principal, request_id)))


@router.get("/requests/{request_id}/survey")
async def survey_link(request_id: PathId, principal: Principal = Depends(CUSTOMER_SIDE),
                      f: Feedback = Depends(feedback_of)) -> Response:
    """The link to send the customer; it works without an account, once, until it expires."""
    closure = await owned_closure(f, principal, request_id)
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
    c = cmd.ReturnSurvey(request_id, survey_id, body.csat, body.nps, body.dimensions or {}, body.comment)
    return answered(await f.bus.handle(c, view=lambda closure: {
        "request_id": request_id, "recorded": True, "version": closure.version}, status=201))


@router.post("/feedback", status_code=201)
async def give_feedback(body: FeedbackBody, principal: Principal = Depends(CUSTOMER_SIDE),
                        idem: Idempotency = Depends(idempotency("feedback")),
                        f: Feedback = Depends(feedback_of)) -> Response:
    c = cmd.GiveFeedback(body.kind.value, body.text, caller_of(principal), body.request_id)
    return answered(await f.bus.handle(c, idem, view=lambda item: {
        "id": item.id, "kind": item.kind, "request_id": item.request_id, "respond_by": item.respond_by}, status=201))
