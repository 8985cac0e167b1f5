"""Analytics' HTTP API: the complete service record of one request."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from shared.auth import Principal, Role, require_roles
from shared.errors import NotFound
from shared.limits import PathId
from shared.privacy import mask
from shared.shredding.keyring import Reader

router = APIRouter(prefix="/v1", tags=["history"])
SEES_PERSONAL = frozenset({Role.agent, Role.admin})


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
    hidden: list[str] = Field(default_factory=list, description="personal fields withheld from this reader's role")


class Timeline(BaseModel):
    request_id: str
    events: list[TimelineEntry]


@router.get("/requests/{request_id}/timeline", response_model=Timeline)
async def timeline(
    request_id: PathId,
    request: Request,
    principal: Principal = Depends(require_roles(Role.agent, Role.dispatcher, Role.analyst)),
) -> Timeline:
    """Every event of the request, from every service, in order. Personal fields are shown to
    agents and admins only; for anyone else they are withheld and listed in `hidden`."""
    runtime = request.app.state.runtime
    async with runtime.db.connect() as conn:
        events = await request.app.state.archive.of_subject(conn, request_id)
    if not events:
        raise NotFound(f"no events recorded for request {request_id!r}")
    sees_personal = principal.role in SEES_PERSONAL
    if sees_personal:  # the archive holds personal fields sealed, as they were published
        reader = Reader.of(principal.subject, principal.role.value, "GET", f"/v1/requests/{request_id}/timeline")
        opened = await runtime.keys.reveal([e["data"] for e in events], reader)
        events = [{**e, "data": data} for e, data in zip(events, opened, strict=True)]
    entries = []
    for e in events:
        data, hidden = (e["data"], []) if sees_personal else mask(e["data"], e["personal"])
        entries.append(TimelineEntry(**{**e, "data": data, "hidden": hidden}))
    return Timeline(request_id=request_id, events=entries)
