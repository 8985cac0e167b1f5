"""Intake's use cases: each takes a command and the dependencies bootstrap wired in."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from services.intake.domain.commands import SubmitRequest
from services.intake.domain.model import ServiceRequest
from services.intake.domain.priority import SlaPolicy
from shared.aggregate import IdSource
from shared.clock import Clock
from shared.envelope import Envelope
from shared.errors import NotFound
from shared.repository import EventSourcedRepository

Append = Callable[[str, Sequence[Envelope], int], Awaitable[int]]


@dataclass(frozen=True)
class Intake:
    requests: EventSourcedRepository[ServiceRequest]
    append: Append
    engine: AsyncEngine
    clock: Clock
    policy: SlaPolicy


async def submit_request(cmd: SubmitRequest, intake: Intake, ids: IdSource) -> ServiceRequest:
    request = ServiceRequest.submit(ids.next(), cmd, intake.clock.now(), intake.policy)
    envelopes = intake.requests.envelopes(request.take_pending(), ids)
    request.version = await intake.append(intake.requests.stream_id(request.id), envelopes, 0)
    return request


async def get_request(request_id: str, intake: Intake) -> ServiceRequest:
    async with intake.engine.connect() as conn:
        request = await intake.requests.get(conn, request_id)
    if request is None:
        raise NotFound(f"no request {request_id!r}")
    return request
