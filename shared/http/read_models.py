"""A service's read models over HTTP, for admins: each one's position and latest rebuild, and a
rebuild run in the service's own process, as `servicetrail projections rebuild` runs it (one at a
time across every process, each recorded in `<OPS_SCHEMA>.rebuilds`). Analytics has its own
(versioned facts: services/analytics/entrypoints/read_models_api.py)."""
from __future__ import annotations

import asyncio
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from shared.auth import Principal, require_roles
from shared.db import fetch
from shared.errors import NotFound
from shared.limits import PathId
from shared.ops.rebuild_runs import ReadModel, RebuildRuns, read_models

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/read-models", tags=["read models"])
ADMINS = require_roles()


def _runs(request: Request) -> RebuildRuns:
    runtime = request.app.state.runtime
    return RebuildRuns(runtime.db, runtime.settings.ops_schema, runtime.clock)


def _model(request: Request, name: str) -> tuple[ReadModel, bool]:
    found = read_models(request.app.state.runtime)
    if name not in found:
        raise NotFound(f"no read model {name!r} here; there are: {', '.join(found) or 'none'}")
    return found[name]


async def _views(request: Request) -> list[dict[str, Any]]:
    runtime = request.app.state.runtime
    latest = await _runs(request).latest(runtime.settings.schema_name)
    async with runtime.db.connect() as conn:
        head = await runtime.store.head(conn)
        checkpoints = {r[0]: int(r[1]) for r in await fetch(conn, f"SELECT name, position FROM {runtime.store.schema}.checkpoints")}
    views = []
    for name, (model, working) in read_models(runtime).items():
        # Tables the commands write move with their store: they are always at its head.
        position = head if working else checkpoints.get(f"projection:{name}", 0)
        views.append({"name": name, "kind": "tables" if working else "projection", "tables": list(model.tables),
                      "position": position, "behind": max(head - position, 0), "last_rebuild": latest.get(name)})
    return views


@router.get("")
async def listing(request: Request, _: Principal = Depends(ADMINS)) -> dict[str, Any]:
    """Every read model this service can rebuild, its position against the store, its last rebuild."""
    return {"read_models": await _views(request)}


@router.get("/{name}")
async def one(name: PathId, request: Request, _: Principal = Depends(ADMINS)) -> dict[str, Any]:
    """One read model, with its latest rebuild (running, done with its checksums, failed, stopped)."""
    _model(request, name)
    return next(v for v in await _views(request) if v["name"] == name)


@router.post("/{name}/rebuild", status_code=202)
async def rebuild(name: PathId, request: Request, principal: Principal = Depends(ADMINS)) -> JSONResponse:
    """Build the read model anew from this service's events beside the live one and switch it in
    once caught up; the service keeps serving. 202 once it runs; 409 while another rebuild of it is
    under way (in any process). Follow it at the Location."""
    model, working = _model(request, name)
    runtime = request.app.state.runtime
    began: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = runtime.spawn(_runs(request).run(
        runtime.settings.service, runtime.settings.schema_name, runtime.store, model, working,
        principal.subject, "http", started=lambda run_id: began.done() or began.set_result(run_id)),
        name=f"rebuild-{name}")
    task.add_done_callback(lambda t: _settled(t, began, name))
    run_id = await began  # RebuildUnderWay (409) when one runs already
    return JSONResponse({"id": run_id, "name": name, "status": "running"}, status_code=202,
                        headers={"Location": f"/v1/read-models/{name}"})


def _settled(task: asyncio.Task[Any], began: asyncio.Future[int], name: str) -> None:
    problem = RuntimeError("the rebuild was stopped") if task.cancelled() else task.exception()
    if not began.done():
        began.set_exception(problem or RuntimeError("the rebuild ended before it began"))
    elif task.cancelled():
        log.info("read model rebuild stopped with the service", read_model=name)
    elif problem is not None:
        log.error("read model rebuild failed", read_model=name, error=repr(problem))
