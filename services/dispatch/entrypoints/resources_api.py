"""Dispatch's HTTP API for resources: people, equipment and partners, and their work lists."""
from __future__ import annotations

from typing import Any, Callable

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from services.dispatch.domain.resources import Resource
from services.dispatch.entrypoints import schemas as s
from services.dispatch.entrypoints.api import MANAGERS, WORKERS, dispatch_of
from services.dispatch.service_layer import handlers
from services.dispatch.service_layer.handlers import Dispatch
from shared.aggregate import IdSource
from shared.auth import Principal, Role
from shared.db import Conn
from shared.errors import InvalidTransition, NotFound
from shared.http.idempotency import Idempotency, idempotency, json_response
from shared.limits import PathId

router = APIRouter(prefix="/v1", tags=["resources"])


def resource_view(r: Resource, load: int) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "kind": r.kind, "skills": r.skills, "capacity": r.capacity, "load": load,
            "zone": r.zone, "team": r.team, "shift": r.shift.to_spec() if r.shift else None, "status": r.status,
            "until": r.until, "version": r.version}


@router.post("/resources", status_code=201)
async def register_resource(body: s.RegisterResource, principal: Principal = Depends(MANAGERS),
                            idem: Idempotency = Depends(idempotency("register-resource")),
                            d: Dispatch = Depends(dispatch_of)) -> Response:
    if (replayed := await idem.replay()) is not None:
        return replayed
    ids = IdSource(idem.seed)
    resource_id = body.id or ids.next()
    resource = Resource.register(resource_id, body.name, body.kind.value, s.skill_levels(body.skills), body.capacity,
                                 body.zone, body.shift, principal.subject, d.clock.now(), team=body.team)
    async with d.db.begin() as conn:
        if await d.resources.get(conn, resource_id) is not None:
            raise InvalidTransition(f"resource {resource_id} is registered already")
        await handlers.save_resource(conn, d, resource, ids)
    d.wake_allocator()
    return await idem.remember(201, resource_view(resource, 0))


@router.get("/resources")
async def list_resources(_: Principal = Depends(MANAGERS), d: Dispatch = Depends(dispatch_of)) -> Response:
    async with d.db.connect() as conn:
        return json_response(await d.tables.resource_rows(conn, "ORDER BY name, id"))


async def _resource(conn: Conn, d: Dispatch, resource_id: str) -> Resource:
    resource = await d.resources.get(conn, resource_id)
    if resource is None:
        raise NotFound(f"no resource {resource_id!r}")
    return resource


def only_their_own(principal: Principal, resource_id: str) -> None:
    """A technician sees and changes only their own resource; any other does not exist for them."""
    if principal.role is Role.technician and principal.subject != resource_id:
        raise NotFound(f"no resource {resource_id!r}")


@router.get("/resources/{resource_id}")
async def read_resource(resource_id: PathId, principal: Principal = Depends(WORKERS),
                        d: Dispatch = Depends(dispatch_of)) -> Response:
    only_their_own(principal, resource_id)
    async with d.db.connect() as conn:
        resource = await _resource(conn, d, resource_id)
        return json_response(resource_view(resource, await d.tables.load_of(conn, resource_id)))


async def _change_resource(d: Dispatch, idem: Idempotency, resource_id: str,
                           change: Callable[[Resource, int], None]) -> Response:
    if (replayed := await idem.replay()) is not None:
        return replayed
    async with d.db.begin() as conn:
        resource = await _resource(conn, d, resource_id)
        load = await d.tables.load_of(conn, resource_id)
        change(resource, load)
        if resource.changed:
            await handlers.save_resource(conn, d, resource, IdSource(idem.seed))
    d.wake_allocator()
    return await idem.remember(200, resource_view(resource, load))


@router.patch("/resources/{resource_id}")
async def update_resource(resource_id: PathId, body: s.UpdateResource, principal: Principal = Depends(MANAGERS),
                          idem: Idempotency = Depends(idempotency("update-resource")),
                          d: Dispatch = Depends(dispatch_of)) -> Response:
    changes = body.model_dump(exclude_unset=True, exclude={"reason", "skills"})
    if body.skills is not None:
        changes["skills"] = s.skill_levels(body.skills)
    return await _change_resource(d, idem, resource_id, lambda r, load: r.update(
        changes, load, body.reason, principal.subject, d.clock.now()))


@router.post("/resources/{resource_id}/availability")
async def change_availability(resource_id: PathId, body: s.ChangeAvailability, principal: Principal = Depends(WORKERS),
                              idem: Idempotency = Depends(idempotency("availability")),
                              d: Dispatch = Depends(dispatch_of)) -> Response:
    only_their_own(principal, resource_id)
    return await _change_resource(d, idem, resource_id, lambda r, _: r.set_availability(
        body.status.value, body.until, body.reason, principal.subject, d.clock.now()))


@router.get("/resources/{resource_id}/jobs")
async def work_list(resource_id: PathId, principal: Principal = Depends(WORKERS),
                    d: Dispatch = Depends(dispatch_of)) -> Response:
    """The jobs a resource holds now, most urgent first."""
    only_their_own(principal, resource_id)
    async with d.db.connect() as conn:
        return json_response(await d.tables.job_rows(
            conn, "WHERE (resource_id = $1 AND status IN ('allocated', 'accepted', 'in_progress', 'paused')) "
                  "OR pending_resource_id = $1 ORDER BY priority_rank, resolve_by", resource_id))
