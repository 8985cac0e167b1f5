"""Dispatch's HTTP API (CONTRACT.md core journey: see the job)."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from services.dispatch.service_layer import handlers
from services.dispatch.service_layer.handlers import Dispatch
from shared.auth import Principal, Role, require_roles

router = APIRouter(prefix="/v1", tags=["jobs"])


class JobView(BaseModel):
    request_id: str
    status: str
    resource_id: str | None = None
    priority: str
    kind: str
    category: str | None = None
    required_skills: list[str]
    respond_by: datetime
    resolve_by: datetime
    opened_at: datetime
    version: int


async def _dispatch(request: Request) -> Dispatch:
    return request.app.state.dispatch


@router.get("/jobs/{request_id}", response_model=JobView)
async def read_job(
    request_id: str,
    _: Principal = Depends(require_roles(Role.dispatcher, Role.technician, Role.agent)),
    dispatch: Dispatch = Depends(_dispatch),
) -> JobView:
    job = await handlers.get_job(request_id, dispatch)
    assert job.opened is not None
    return JobView(status=job.status, version=job.version, **job.opened.model_dump())
