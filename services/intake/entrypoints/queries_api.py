"""Intake's reads over the requests read model: search, a customer's requests, the queues."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from services.intake.adapters.queries import Filters
from services.intake.domain.lifecycle import Status
from services.intake.domain.priority import Priority
from services.intake.entrypoints.api import CUSTOMER_SIDE, DESK, intake_of
from services.intake.entrypoints.schemas import Channel, Page, RequestSummary
from services.intake.entrypoints.views import summary
from services.intake.service_layer.handlers import Intake
from shared import limits
from shared.auth import Principal, Role
from shared.shredding.keyring import Reader

SHOWN = frozenset(RequestSummary.model_fields) | {"respond_risk_at"}  # what `summary` reads of a row

router = APIRouter(prefix="/v1", tags=["queues and search"])


@router.get("/requests", response_model=Page)
async def search(
    status: Status | None = None,
    priority: Priority | None = None,
    channel: Channel | None = None,
    category: limits.Name | None = Query(None),
    owner: limits.Id | None = Query(None),
    customer_id: limits.Id | None = Query(None),
    received_from: limits.Instant | None = Query(None, alias="from"),
    received_to: limits.Instant | None = Query(None, alias="to"),
    limit: int = Query(50, ge=1, le=500),
    cursor: limits.Cursor | None = Query(None),
    principal: Principal = Depends(CUSTOMER_SIDE),
    intake: Intake = Depends(intake_of),
) -> Page:
    """Newest first; customers always get their own requests only."""
    if principal.role is Role.customer:
        customer_id = principal.subject
    filters = Filters(
        status=status.value if status else None, priority=priority.value if priority else None, channel=channel.value if channel else None,
        category=intake.rules.categories.resolve(category) if category else None, owner=owner,
        customer_id=customer_id, received_from=received_from, received_to=received_to,
    )
    async with intake.db.connect() as conn:
        rows, next_cursor = await intake.queries.search(conn, filters, limit, cursor)
    return Page(items=await summaries(intake, principal, "/v1/requests", rows), next_cursor=next_cursor)


@router.get("/queues/awaiting-response", response_model=list[RequestSummary])
async def awaiting_response(
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=limits.OFFSET_MAX),
    principal: Principal = Depends(DESK), intake: Intake = Depends(intake_of),
) -> list[RequestSummary]:
    """Not yet acknowledged, by priority then response deadline, with SLA-risk flags."""
    async with intake.db.connect() as conn:
        rows = await intake.queries.awaiting_response(conn, limit, offset)
    return await summaries(intake, principal, "/v1/queues/awaiting-response", rows)


@router.get("/queues/triage", response_model=list[RequestSummary])
async def triage_queue(
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=limits.OFFSET_MAX),
    principal: Principal = Depends(DESK), intake: Intake = Depends(intake_of),
) -> list[RequestSummary]:
    """Open requests no agent has triaged yet (self-service or uncategorised), most urgent first."""
    async with intake.db.connect() as conn:
        rows = await intake.queries.triage_queue(conn, limit, offset)
    return await summaries(intake, principal, "/v1/queues/triage", rows)


async def summaries(intake: Intake, principal: Principal, path: str, rows: list[dict[str, Any]]) -> list[RequestSummary]:
    """The rows as summaries, what they show of customers' data (sealed in the read model) opened
    for the reader, and that reading recorded."""
    shown = [{k: v for k, v in row.items() if k in SHOWN} for row in rows]
    opened = await intake.keys.reveal(shown, Reader.of(principal.subject, principal.role.value, "GET", path))
    now = intake.clock.now()
    return [summary(row, now) for row in opened]
