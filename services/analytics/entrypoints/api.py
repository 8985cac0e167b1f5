"""Analytics' HTTP API: the complete service record of one request."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from shared.auth import Principal, Role, require_roles
from shared.errors import NotFound

router = APIRouter(prefix="/v1", tags=["history"])


class TimelineEntry(BaseModel):
    id: str
    service: str
    type: str
    name: str
    time: datetime
    stream_id: str
    stream_version: int
    correlation_id: str
    causation_id: str | None = None
    data: dict[str, Any]


class Timeline(BaseModel):
    request_id: str
    events: list[TimelineEntry]


@router.get("/requests/{request_id}/timeline", response_model=Timeline)
async def timeline(
    request_id: str,
    request: Request,
    _: Principal = Depends(require_roles(Role.agent, Role.dispatcher, Role.analyst)),
) -> Timeline:
    runtime = request.app.state.runtime
    async with runtime.db.connect() as conn:
        events = await request.app.state.timeline.of_request(conn, request_id)
    if not events:
        raise NotFound(f"no events recorded for request {request_id!r}")
    return Timeline(request_id=request_id, events=[TimelineEntry(**e) for e in events])
