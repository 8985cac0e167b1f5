"""A customer's privacy over HTTP (admins): erasure, and the record of who read their data."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from services.intake.domain import commands as cmd
from services.intake.domain.erasure import Erasure
from services.intake.entrypoints.api import intake_of
from services.intake.service_layer.handlers import Intake
from shared.auth import Principal, Role, require_roles
from shared.http.idempotency import Idempotency, answered, command
from shared.limits import PathId

router = APIRouter(prefix="/v1", tags=["privacy"])
ADMIN = require_roles(Role.admin)


class ErasureView(BaseModel):
    customer_id: str
    erased_at: datetime
    erased_by: str


class Access(BaseModel):
    id: int
    at: datetime
    service: str
    subject: str
    role: str
    endpoint: str
    fields: list[str]


class AccessLog(BaseModel):
    customer_id: str
    entries: list[Access]
    next_before: int | None = None


def erasure_view(erasure: Erasure) -> dict[str, Any]:
    return {"customer_id": erasure.customer_id, "erased_at": erasure.erased_at, "erased_by": erasure.erased_by}


@router.post("/customers/{customer_id}/erasure", response_model=ErasureView)
async def erase(customer_id: PathId, http: Request,
                idem: Idempotency = Depends(command("erase", Role.admin))) -> Response:
    """Destroys the customer's data key: their personal fields read `[erased]` everywhere from now
    on, while every event, history and report stays as it was. Asking again answers the same and
    changes nothing; a customer never seen is a 404."""
    c = cmd.EraseCustomer(customer_id, idem.principal.subject)
    return answered(await intake_of(http).bus.handle(c, idem, view=erasure_view))


@router.get("/customers/{customer_id}/access-log", response_model=AccessLog)
async def access_log(customer_id: PathId, limit: int = Query(100, ge=1, le=1000),
                     before: int | None = Query(None, ge=1, le=2**63 - 1), _: Principal = Depends(ADMIN),
                     intake: Intake = Depends(intake_of)) -> AccessLog:
    """Every read of the customer's personal data, newest first, by any service: who (subject,
    role), when, through which endpoint, which fields. It holds no personal values."""
    rows = await intake.keys.accesses(customer_id, limit + 1, before)
    more = len(rows) > limit
    rows = rows[:limit]
    return AccessLog(customer_id=customer_id, entries=[Access(**r) for r in rows],
                     next_before=rows[-1]["id"] if more else None)
