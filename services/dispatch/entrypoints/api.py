"""Dispatch's HTTP API for jobs and their work (CONTRACT.md core journey paths)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from services.dispatch.domain import commands as cmd
from services.dispatch.domain.model import Job
from services.dispatch.entrypoints import schemas as s
from services.dispatch.service_layer import handlers
from services.dispatch.service_layer.handlers import Dispatch
from shared.auth import Principal, Role, require_roles
from shared.http.idempotency import Idempotency, answered, idempotency, json_response
from shared.limits import PathId

router = APIRouter(prefix="/v1", tags=["dispatch"])
MANAGERS = require_roles(Role.dispatcher)
READERS = require_roles(Role.dispatcher, Role.technician, Role.agent)
WORKERS = require_roles(Role.dispatcher, Role.technician)
ESCALATORS = require_roles(Role.dispatcher, Role.technician, Role.agent)


async def dispatch_of(request: Request) -> Dispatch:
    return request.app.state.dispatch


def job_view(job: Job, now: datetime) -> dict[str, Any]:
    o = job.opened
    assert o is not None
    return {
        "request_id": job.request_id, "status": job.status, "resource_id": job.resource_id,
        "pending_resource_id": job.pending_resource, "priority": job.priority, "kind": o.kind,
        "category": job.terms.category, "required_skills": list(job.terms.required_skills), "zone": job.terms.zone,
        "emergency": job.terms.emergency, "escalation": job.escalation, "received_at": o.received_at,
        "respond_by": job.respond_by, "resolve_by": job.resolve_by, "opened_at": o.opened_at,
        "declined_by": sorted(job.declined_by),
        "clocks": {name: {"status": c.status(now), "deadline": c.deadline(), "used_seconds": int(c.used(now).total_seconds()),
                          "budget_seconds": int(c.budget.total_seconds())} for name, c in job.clocks.items()},
        "version": job.version,
    }


def caller_of(principal: Principal) -> cmd.Caller:
    return cmd.Caller(principal.subject, principal.role is Role.technician)


async def send(d: Dispatch, command: object, idem: Idempotency) -> Response:
    return answered(await d.bus.handle(command, idem, view=lambda job: job_view(job, d.clock.now())))


@router.get("/jobs/{request_id}")
async def read_job(request_id: PathId, principal: Principal = Depends(READERS),
                   d: Dispatch = Depends(dispatch_of)) -> Response:
    async with d.db.connect() as conn:
        job = await handlers.load_job(conn, d, request_id)
    handlers.sees(caller_of(principal), job)
    return json_response(job_view(job, d.clock.now()))


@router.get("/queues/unallocated")
async def unallocated(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(MANAGERS),
                      d: Dispatch = Depends(dispatch_of)) -> Response:
    """Open jobs by priority, then response deadline."""
    async with d.db.connect() as conn:
        return json_response(await d.tables.job_rows(
            conn, "WHERE status IN ('open', 'awaiting_approval') ORDER BY priority_rank, respond_by LIMIT $1", limit))


@router.get("/queues/at-risk")
async def at_risk(limit: int = Query(100, ge=1, le=1000), _: Principal = Depends(MANAGERS),
                  d: Dispatch = Depends(dispatch_of)) -> Response:
    """Live jobs whose SLA warning or breach has fired, most escalated first."""
    async with d.db.connect() as conn:
        return json_response(await d.tables.job_rows(
            conn, "WHERE escalation IS NOT NULL AND status NOT IN ('resolved', 'released') "
                  "ORDER BY escalation DESC, priority_rank, respond_by LIMIT $1", limit))


@router.post("/jobs/{request_id}/allocate")
async def allocate(request_id: PathId, body: s.Allocate, principal: Principal = Depends(MANAGERS),
                   idem: Idempotency = Depends(idempotency("allocate")), d: Dispatch = Depends(dispatch_of)) -> Response:
    """Manual allocation or reassignment; to a partner it waits for approval."""
    return await send(d, cmd.AllocateJob(request_id, body.resource_id, body.reason, caller_of(principal)), idem)


@router.post("/jobs/{request_id}/approve")
async def approve(request_id: PathId, principal: Principal = Depends(MANAGERS),
                  idem: Idempotency = Depends(idempotency("approve")), d: Dispatch = Depends(dispatch_of)) -> Response:
    return await send(d, cmd.ApproveAllocation(request_id, caller_of(principal)), idem)


@router.post("/jobs/{request_id}/accept")
async def accept(request_id: PathId, principal: Principal = Depends(WORKERS),
                 idem: Idempotency = Depends(idempotency("accept")), d: Dispatch = Depends(dispatch_of)) -> Response:
    return await send(d, cmd.AcceptJob(request_id, caller_of(principal)), idem)


@router.post("/jobs/{request_id}/decline")
async def decline(request_id: PathId, body: s.Decline, principal: Principal = Depends(WORKERS),
                  idem: Idempotency = Depends(idempotency("decline")), d: Dispatch = Depends(dispatch_of)) -> Response:
    return await send(d, cmd.DeclineJob(request_id, body.reason, caller_of(principal)), idem)


@router.post("/jobs/{request_id}/start")
async def start(request_id: PathId, principal: Principal = Depends(WORKERS),
                idem: Idempotency = Depends(idempotency("start")), d: Dispatch = Depends(dispatch_of)) -> Response:
    return await send(d, cmd.StartWork(request_id, caller_of(principal)), idem)


@router.post("/jobs/{request_id}/notes")
async def add_note(request_id: PathId, body: s.Note, principal: Principal = Depends(WORKERS),
                   idem: Idempotency = Depends(idempotency("note")), d: Dispatch = Depends(dispatch_of)) -> Response:
    return await send(d, cmd.AddNote(request_id, body.note, body.milestone, caller_of(principal)), idem)


@router.post("/jobs/{request_id}/pause")
async def pause(request_id: PathId, body: s.Pause | None = None, principal: Principal = Depends(WORKERS),
                idem: Idempotency = Depends(idempotency("pause")), d: Dispatch = Depends(dispatch_of)) -> Response:
    body = body or s.Pause()
    return await send(d, cmd.PauseWork(request_id, body.waiting_on.value, body.note, caller_of(principal)), idem)


@router.post("/jobs/{request_id}/resume")
async def resume(request_id: PathId, principal: Principal = Depends(WORKERS),
                 idem: Idempotency = Depends(idempotency("resume")), d: Dispatch = Depends(dispatch_of)) -> Response:
    return await send(d, cmd.ResumeWork(request_id, caller_of(principal)), idem)


@router.post("/jobs/{request_id}/resolve")
async def resolve(request_id: PathId, body: s.Resolve, principal: Principal = Depends(WORKERS),
                  idem: Idempotency = Depends(idempotency("resolve")), d: Dispatch = Depends(dispatch_of)) -> Response:
    return await send(d, cmd.ResolveJob(request_id, body.resolution_code, body.summary, caller_of(principal)), idem)


@router.post("/jobs/{request_id}/escalate")
async def escalate(request_id: PathId, body: s.Escalate | None = None, principal: Principal = Depends(ESCALATORS),
                   idem: Idempotency = Depends(idempotency("escalate")), d: Dispatch = Depends(dispatch_of)) -> Response:
    body = body or s.Escalate(reason="escalated by hand")
    return await send(d, cmd.EscalateJob(request_id, body.level.value, body.reason, caller_of(principal)), idem)