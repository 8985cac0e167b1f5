"""Operating the read models: their versions, rebuild progress, a rebuild, and checksums."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from shared.auth import Principal, require_roles
from shared.errors import NotFound

router = APIRouter(prefix="/v1/read-models", tags=["read models"])


@router.get("")
async def versions(request: Request, _: Principal = Depends(require_roles())) -> dict[str, Any]:
    """Every version (building, live, retired, dropped), with how far each has folded the archive.
    Admins only: it names who asked for each rebuild (`requested_by`)."""
    return {"versions": await request.app.state.read_models.progress()}


@router.post("/rebuild", status_code=202)
async def rebuild(request: Request, principal: Principal = Depends(require_roles())) -> JSONResponse:
    """Build a new version from every archived event beside the live one; it goes live once caught up
    (blue-green). 409 while another rebuild is in progress. Admins only."""
    version = await request.app.state.read_models.request_rebuild(principal.subject)
    return JSONResponse({"version": version, "status": "building"}, status_code=202,
                        headers={"Location": "/v1/read-models"})


@router.get("/{version}/checksum")
async def checksum(version: int, request: Request, _: Principal = Depends(require_roles())) -> dict[str, Any]:
    """A digest of every row of that version: a rebuilt version must equal the live one."""
    found = await request.app.state.read_models.checksum(version)
    if found is None:
        raise NotFound(f"read model version {version} does not exist (any more)")
    return found
