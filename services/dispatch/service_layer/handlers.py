"""Dispatch's use cases."""
from __future__ import annotations

from dataclasses import dataclass

from services.dispatch.domain.inbound import TriagedRequest
from services.dispatch.domain.model import Job
from shared.aggregate import IdSource
from shared.clock import Clock
from shared.db import Conn, Database
from shared.errors import NotFound
from shared.repository import EventSourcedRepository


@dataclass(frozen=True)
class Dispatch:
    jobs: EventSourcedRepository[Job]
    db: Database
    clock: Clock


async def open_job(conn: Conn, request: TriagedRequest, dispatch: Dispatch, ids: IdSource) -> None:
    if await dispatch.jobs.get(conn, request.request_id) is not None:
        return  # a request is triaged again (reopen): the job already exists
    job = Job.open(request, dispatch.clock.now())
    await dispatch.jobs.save(conn, request.request_id, job, ids)


async def get_job(request_id: str, dispatch: Dispatch) -> Job:
    async with dispatch.db.connect() as conn:
        job = await dispatch.jobs.get(conn, request_id)
    if job is None:
        raise NotFound(f"no job for request {request_id!r}")
    return job
