"""Intake's commands over HTTP (CONTRACT.md: submit, read, acknowledge, withdraw; and the rest)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import Headers

from services.intake.domain import commands as cmd
from services.intake.entrypoints import schemas as s
from services.intake.entrypoints.views import view
from services.intake.service_layer import handlers
from services.intake.service_layer.handlers import Intake
from shared.auth import Principal, Role, allowed_roles, require_roles
from shared.errors import NotFound
from shared.http.fast_lane import LaneHandler, is_json
from shared.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from shared.http.idempotency import Idempotency, answered, command, json_response
from shared.limits import PathId
from shared.messagebus import Answer
from shared.shredding.keyring import Reader

router = APIRouter(prefix="/v1", tags=["requests"])
CUSTOMER_ROLES = (Role.customer, Role.agent, Role.dispatcher)
DESK_ROLES = (Role.agent, Role.dispatcher)
CUSTOMER_SIDE, DESK = require_roles(*CUSTOMER_ROLES), require_roles(*DESK_ROLES)
READERS = require_roles(Role.customer, Role.agent, Role.dispatcher, Role.technician)


def intake_of(request: Request) -> Intake:
    return request.app.state.intake


# The request view's fields that are the customer's personal data (each read is recorded).
VIEW_PERSONAL = ("title", "description", "location", "customer.name", "customer.phone", "customer.email")


async def shown(intake: Intake, principal: Principal, method: str, path: str, body: Any) -> None:
    """Record that `principal` was shown this request view's personal fields."""
    if isinstance(body, dict) and isinstance(body.get("customer"), dict):
        reader = Reader.of(principal.subject, principal.role.value, method, path)
        await intake.keys.record_shown(reader, body["customer"]["id"], body, VIEW_PERSONAL)


async def reply(http: Request, principal: Principal, answer: Answer) -> Response:
    """A command's answer, its reading of the customer's data recorded first."""
    await shown(intake_of(http), principal, http.method, http.url.path, answer.body)
    return answered(answer)


def caller_of(principal: Principal) -> cmd.Caller:
    """Customers see and change only their own requests; anything else does not exist for them."""
    return cmd.Caller(principal.subject, principal.role is Role.customer)


@router.post("/requests", status_code=201, response_model=s.SubmittedView)
async def submit_request(
    body: s.SubmitRequestBody, http: Request,
    idem: Idempotency = Depends(command("submit", *CUSTOMER_ROLES)),
) -> Response:
    return await submitted(body, idem, intake_of(http))


def submit_lane(app: FastAPI) -> LaneHandler:
    """Submit's fast lane: what it cannot check up front (a missing or bad token, a role that may
    not submit, a body the schema refuses) goes on to the route above, which answers it."""
    submitters = allowed_roles(*CUSTOMER_ROLES)

    async def lane(headers: Headers, body: bytes) -> Response | None:
        principal = app.state.tokens.principal_of(headers.get("authorization"))
        if principal is None or principal.role not in submitters or not is_json(headers):
            return None
        try:
            parsed = s.SubmitRequestBody.model_validate_json(body)
        except ValidationError:
            return None
        key = headers.get(IDEMPOTENCY_HEADER)
        idem = Idempotency.of_command("submit", principal, "/v1/requests", key, body)
        return await submitted(parsed, idem, app.state.intake)

    return lane


async def submitted(body: s.SubmitRequestBody, idem: Idempotency, intake: Intake) -> Response:
    """Submit: the one core of the route and its fast lane."""
    principal = idem.principal
    c = cmd.SubmitRequest(
        customer=cmd.CustomerDetails(**body.customer.model_dump()), channel=body.channel.value,
        kind=body.kind.value, category=body.category, title=body.title, description=body.description,
        urgency=body.urgency, impact=body.impact, location=body.location, zone=body.zone,
        taken_by="self-service" if principal.role is Role.customer else principal.subject,
        caller=caller_of(principal),
    )
    answer = await intake.bus.handle(c, idem, view=submitted_view, status=201)
    if answer.body.get("possible_duplicates"):  # the rest is what the caller just sent
        reader = Reader.of(principal.subject, principal.role.value, "POST", "/v1/requests")
        await intake.keys.record(reader, {answer.body["customer"]["id"]: {"possible_duplicates.title"}})
    return answered(answer)


def submitted_view(result: handlers.Submitted) -> dict[str, Any]:
    return {**view(result.request), "possible_duplicates": result.possible_duplicates}


@router.get("/requests/{request_id}", response_model=s.RequestView)
async def read_request(
    request_id: PathId, principal: Principal = Depends(READERS), intake: Intake = Depends(intake_of)
) -> Response:
    request = await handlers.get_request(request_id, intake)
    if not caller_of(principal).owns(request.customer_id):
        raise NotFound(f"no request {request_id!r}")
    if principal.role is Role.technician and not request.readable_by_technician(principal.subject):
        raise NotFound(f"no request {request_id!r}")  # as dispatch answers for a job they never held
    body = view(request)
    await shown(intake, principal, "GET", f"/v1/requests/{request_id}", body)
    return json_response(body)


@router.post("/requests/{request_id}/acknowledge", response_model=s.RequestView)
async def acknowledge(
    request_id: PathId, http: Request, body: s.AcknowledgeBody | None = None,
    idem: Idempotency = Depends(command("acknowledge", *DESK_ROLES)),
) -> Response:
    c = cmd.Acknowledge(request_id, idem.principal.subject, body.message if body else None)
    return await reply(http, idem.principal, await intake_of(http).bus.handle(c, idem, view=view))


@router.post("/requests/{request_id}/triage", response_model=s.RequestView)
async def triage(
    request_id: PathId, body: s.TriageBody, http: Request,
    idem: Idempotency = Depends(command("triage", *DESK_ROLES)),
) -> Response:
    c = cmd.Retriage(request_id, idem.principal.subject, body.reason, body.urgency, body.impact, body.category,
                     body.dispatch)
    return await reply(http, idem.principal, await intake_of(http).bus.handle(c, idem, view=view))


@router.post("/requests/{request_id}/need-confirmation", response_model=s.RequestView)
async def confirm_need(
    request_id: PathId, body: s.ConfirmNeedBody, http: Request,
    idem: Idempotency = Depends(command("confirm-need", *DESK_ROLES)),
) -> Response:
    c = cmd.ConfirmNeed(request_id, idem.principal.subject, body.what, body.where, body.when, body.note)
    return await reply(http, idem.principal, await intake_of(http).bus.handle(c, idem, view=view))


@router.patch("/requests/{request_id}", response_model=s.RequestView)
async def update(
    request_id: PathId, body: s.UpdateBody, http: Request,
    idem: Idempotency = Depends(command("update", *CUSTOMER_ROLES)),
) -> Response:
    fields = body.model_dump(exclude_unset=True, exclude={"reason", "customer"})
    customer = body.customer.model_dump(exclude_unset=True) if body.customer else {}
    fields.update({f"customer.{k}": v for k, v in customer.items()})
    c = cmd.UpdateRequest(request_id, idem.principal.subject, body.reason, fields, caller_of(idem.principal))
    return await reply(http, idem.principal, await intake_of(http).bus.handle(c, idem, view=view))


@router.post("/requests/{request_id}/take-ownership", response_model=s.RequestView)
async def take_ownership(
    request_id: PathId, http: Request, idem: Idempotency = Depends(command("take-ownership", *DESK_ROLES)),
) -> Response:
    """The caller becomes the request's owner (a self-service request has none until then)."""
    c = cmd.TakeOwnership(request_id, idem.principal.subject)
    return await reply(http, idem.principal, await intake_of(http).bus.handle(c, idem, view=view))


@router.post("/requests/{request_id}/contacts", response_model=s.RequestView)
async def record_contact(
    request_id: PathId, body: s.ContactBody, http: Request,
    idem: Idempotency = Depends(command("contact", *DESK_ROLES)),
) -> Response:
    c = cmd.RecordContact(request_id, idem.principal.subject, body.via.value, body.direction.value, body.summary,
                          body.at)
    return await reply(http, idem.principal, await intake_of(http).bus.handle(c, idem, view=view))


@router.post("/requests/{request_id}/withdraw", response_model=s.RequestView)
async def withdraw(
    request_id: PathId, body: s.WithdrawBody, http: Request,
    idem: Idempotency = Depends(command("withdraw", *CUSTOMER_ROLES)),
) -> Response:
    c = cmd.Withdraw(request_id, idem.principal.subject, body.reason, caller_of(idem.principal))
    return await reply(http, idem.principal, await intake_of(http).bus.handle(c, idem, view=view))


@router.post("/requests/{request_id}/merge", response_model=s.RequestView)
async def merge(
    request_id: PathId, body: s.MergeBody, http: Request,
    idem: Idempotency = Depends(command("merge", *DESK_ROLES)),
) -> Response:
    c = cmd.Merge(request_id, body.into, idem.principal.subject, body.reason)
    return await reply(http, idem.principal, await intake_of(http).bus.handle(c, idem, view=view))
