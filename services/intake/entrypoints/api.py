"""Intake's HTTP API (CONTRACT.md core journey: submit, read)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from services.intake.domain.commands import CustomerDetails, SubmitRequest
from services.intake.domain.model import ServiceRequest
from services.intake.entrypoints.schemas import CustomerOut, RequestView, SubmitRequestBody
from services.intake.service_layer import handlers
from services.intake.service_layer.handlers import Intake
from shared.aggregate import IdSource
from shared.auth import Principal, Role, require_roles
from shared.errors import NotFound
from shared.http.idempotency import Idempotency, idempotency

router = APIRouter(prefix="/v1", tags=["requests"])
_SUBMITTERS = require_roles(Role.customer, Role.agent, Role.dispatcher)
_READERS = require_roles(Role.customer, Role.agent, Role.dispatcher, Role.technician)


def _intake(request: Request) -> Intake:
    return request.app.state.intake


def view(request: ServiceRequest) -> RequestView:
    received, triage = request.received, request.triage
    assert received is not None
    return RequestView(
        id=request.id,
        status=request.status,
        priority=triage.priority if triage else None,
        emergency=triage.emergency if triage else False,
        respond_by=triage.respond_by if triage else None,
        resolve_by=triage.resolve_by if triage else None,
        channel=received.channel,
        kind=received.kind,
        category=received.category,
        title=received.title,
        description=received.description,
        urgency=received.urgency,
        impact=received.impact,
        location=received.location,
        customer=CustomerOut(**received.customer.model_dump()),
        owner=received.owner,
        received_at=received.received_at,
        version=request.version,
    )


@router.post("/requests", status_code=201, response_model=RequestView)
async def submit_request(
    body: SubmitRequestBody,
    principal: Principal = Depends(_SUBMITTERS),
    idem: Idempotency = Depends(idempotency("submit-request")),
    intake: Intake = Depends(_intake),
) -> JSONResponse:
    if (replayed := await idem.replay()) is not None:
        return replayed
    if principal.role is Role.customer and body.customer.id != principal.subject:
        raise HTTPException(403, "customers submit requests for themselves only")
    cmd = SubmitRequest(
        customer=CustomerDetails(**body.customer.model_dump()),
        channel=body.channel.value,
        kind=body.kind.value,
        category=body.category,
        title=body.title,
        description=body.description,
        urgency=body.urgency,
        impact=body.impact,
        location=body.location,
        taken_by="self-service" if principal.role is Role.customer else principal.subject,
    )
    request = await handlers.submit_request(cmd, intake, IdSource(idem.seed))
    if idem.seed:  # a racing or crashed first attempt may have recorded it: answer with what is stored
        request = await handlers.get_request(request.id, intake)
    return await idem.remember(201, view(request).model_dump(mode="json"))


@router.get("/requests/{request_id}", response_model=RequestView)
async def read_request(
    request_id: str, principal: Principal = Depends(_READERS), intake: Intake = Depends(_intake)
) -> RequestView:
    request = await handlers.get_request(request_id, intake)
    assert request.received is not None
    if principal.role is Role.customer and request.received.customer.id != principal.subject:
        raise NotFound(f"no request {request_id!r}")
    return view(request)
