"""What dispatch does when intake decides, inside the transaction that consumes intake's record:
a job for every triaged request (and the newest triage followed whole), a release when the request
is withdrawn or merged, and, when the customer rejects a resolution, the job reopened and given
back to who resolved it if the allocation rules let them take it, else to whoever they pick."""
from __future__ import annotations

from datetime import datetime
from typing import Awaitable, Callable

import structlog

from services.dispatch.domain.allocation import score, why_not
from services.dispatch.domain.model import Job
from services.dispatch.service_layer.handlers import WEIGHTS, Dispatch, allocate_auto, candidate, need, save_job
from shared.aggregate import IdSource
from shared.contracts import intake
from shared.db import Conn
from shared.errors import InvalidTransition

log = structlog.get_logger(__name__)
Act = Callable[[Job, datetime], None]
Offer = Callable[[Conn, Dispatch, Job], Awaitable[str | None]]
BACK_TO_RESOLVER = "back_to_resolver"  # the strategy a reopened job's return to its resolver is recorded with


async def open_job(conn: Conn, triaged: intake.RequestTriaged, d: Dispatch, ids: IdSource) -> None:
    """On RequestTriaged: open the job and allocate it in the same transaction when someone is free.
    On a re-triage the job follows the new terms, and one still waiting is offered by them."""
    skills = d.skills.required(triaged.kind, triaged.category)
    job = await d.jobs.get(conn, triaged.request_id)
    if job is not None:
        await _follow(conn, job, d, ids, lambda j, now: j.reprioritise(triaged, skills, now), allocate_auto)
        return
    job = Job.open(triaged, skills, d.clock.now())
    reserved = await allocate_auto(conn, d, job)
    await save_job(d, conn, job, None, ids, reserved)


async def follow_request(conn: Conn, request_id: str, d: Dispatch, ids: IdSource, act: Act,
                         offer: Offer | None = None) -> None:
    """Apply what intake decided to the job, if the request has one."""
    job = await d.jobs.get(conn, request_id)
    if job is not None:
        await _follow(conn, job, d, ids, act, offer)


async def reopen(conn: Conn, reopened: intake.RequestReopened, d: Dispatch, ids: IdSource) -> None:
    reason = reopened.reason or "reopened"
    await follow_request(conn, reopened.request_id, d, ids,
                         lambda job, now: job.reopen(reason, reopened.rejected_at, now), back_to_resolver)


async def back_to_resolver(conn: Conn, d: Dispatch, job: Job) -> str | None:
    """The resource who resolved the job takes it again when the allocation rules let them (on duty,
    a free slot, the skills it needs now, not a partner); else the usual allocation decides, and the
    record says why the resolver was passed over."""
    resolver, now = job.resolved_by, d.clock.now()
    if resolver is None:
        return await allocate_auto(conn, d, job)
    rows = await d.tables.resource_rows(conn, "WHERE id = $1", resolver)
    found, wanted = (candidate(rows[0], now) if rows else None), need(job, now)
    why = why_not(wanted, found) if found is not None else "is no longer registered"
    if found is not None and why is None:
        if await d.tables.reserve(conn, resolver):
            job.allocate(resolver, BACK_TO_RESOLVER, score(wanted, found, WEIGHTS).breakdown(), 1, "dispatch",
                         "reopened: back to who resolved it", now)
            return resolver
        why = "has no free slot"  # another allocator took the last one meanwhile
    return await allocate_auto(conn, d, job, reason=f"reopened: {resolver}, who resolved it, {why}")


async def _follow(conn: Conn, job: Job, d: Dispatch, ids: IdSource, act: Act, offer: Offer | None) -> None:
    before = job.holder
    try:
        act(job, d.clock.now())
    except InvalidTransition as exc:
        log.info("intake's change does not apply to the job now", request_id=job.request_id, reason=str(exc))
        return
    # Only a job left waiting is offered: one someone holds keeps its holder.
    reserved = await offer(conn, d, job) if offer is not None and job.status == "open" else None
    if job.changed:
        await save_job(d, conn, job, before, ids, reserved)
