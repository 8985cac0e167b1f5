"""Dispatch's HTTP API for resources: people, equipment and partners, and their work lists."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from services.dispatch.domain import commands as cmd
from services.dispatch.domain.resources import Resource
from services.dispatch.entrypoints import schemas as s
from services.dispatch.entrypoints.api import MANAGERS, WORKERS, caller_of, dispatch_of
from services.dispatch.service_layer import handlers
from services.dispatch.service_layer.handlers import Dispatch, Loaded
from shared.auth import Principal
from shared.db import Conn
from shared.errors import NotFound
from shared.http.idempotency import Idempotency, answered, idempotency, json_response
from shared.limits import PathId

router = APIRouter(prefix="/v1", tags=["resources"])


def resource_view(r: Resource, load: int) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "kind": r.kind, "skills": r.skills, "capacity": r.capacity, "load": load,
            "zone": r.zone, "team": r.team, "shift": r.shift.to_spec() if r.shift else None, "status": r.status,
            "until": r.until, "version": r.version}


def resource_answer(result: Loaded | Resource) -> dict[str, Any]:
    # A Resource alone: the command was recorded before (a retry after a crash), its load not read.
    return resource_view(result.resource, result.load) if isinstance(result, Loaded) else resource_view(result, 0)


async def send(d: Dispatch, command: object, idem: Idempotency, status: int = 200) -> Response:
    return answered(await d.bus.handle(command, idem, view=resource_answer, status=status))


@router.post("/resources", status_code=201)
async def register_resource(body: s.RegisterResource, principal: Principal = Depends(MANAGERS),
                            idem: Idempotency = Depends(idempotency("register-resource")),
                            d: Dispatch = Depends(dispatch_of)) -> Response:
    return await send(d, cmd.RegisterResource(body.id, body.name, body.kind.value, s.skill_levels(body.skills),
                                              body.capacity, body.zone, body.shift, body.team, caller_of(principal)),
                      idem, 201)


@router.get("/resources")
async def list_resources(_: Principal = Depends(MANAGERS), d: Dispatch = Depends(dispatch_of)) -> Response:
    async with d.db.connect() as conn:
        return json_response(await d.tables.resource_rows(conn, "ORDER BY name, id"))


async def _resource(conn: Conn, d: Dispatch, resource_id: str) -> Resource:
    resource = await d.resources.get(conn, resource_id)
    if resource is None:
        raise NotFound(f"no resource {resource_id!r}")
    return resource


@router.get("/resources/{resource_id}")
async def read_resource(resource_id: PathId, principal: Principal = Depends(WORKERS),
                        d: Dispatch = Depends(dispatch_of)) -> Response:
    handlers.only_their_own(caller_of(principal), resource_id)
    async with d.db.connect() as conn:
        resource = await _resource(conn, d, resource_id)
        return json_response(resource_view(resource, await d.tables.load_of(conn, resource_id)))


@router.patch("/resources/{resource_id}")
async def update_resource(resource_id: PathId, body: s.UpdateResource, principal: Principal = Depends(MANAGERS),
                          idem: Idempotency = Depends(idempotency("update-resource")),
                          d: Dispatch = Depends(dispatch_of)) -> Response:
    changes = body.model_dump(exclude_unset=True, exclude={"reason", "skills"})
    if body.skills is not None:
        changes["skills"] = s.skill_levels(body.skills)
    return await send(d, cmd.UpdateResource(resource_id, changes, body.reason, caller_of(principal)), idem)


@router.post("/resources/{resource_id}/availability")
async def change_availability(resource_id: PathId, body: s.ChangeAvailability, principal: Principal = Depends(WORKERS),
                              idem: Idempotency = Depends(idempotency("availability")),
                              d: Dispatch = Depends(dispatch_of)) -> Response:
    return await send(d, cmd.ChangeAvailability(resource_id, body.status.value, body.until, body.reason,
                                                caller_of(principal)), idem)


@router.get("/resources/{resource_id}/jobs")
async def work_list(resource_id: PathId, principal: Principal = Depends(WORKERS),
                    d: Dispatch = Depends(dispatch_of)) -> Response:
    """The jobs a resource holds now, most urgent first."""
    handlers.only_their_own(caller_of(principal), resource_id)
    async with d.db.connect() as conn:
        return json_response(await d.tables.job_rows(
            conn, "WHERE (resource_id = $1 AND status IN ('allocated', 'accepted', 'in_progress', 'paused')) "
                  "OR pending_resource_id = $1 ORDER BY priority_rank, resolve_by", resource_id))
