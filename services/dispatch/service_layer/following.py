"""What dispatch does when intake decides, inside the transaction that consumes intake's record
(the consumer sends these commands through the bus, in a unit joined to that transaction): a job
for every triaged request (and the newest triage followed whole), a release when the request is
withdrawn or merged, and, when the customer rejects a resolution, the job reopened and given back
to who resolved it if the allocation rules let them take it, else to whoever they pick."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Awaitable, Callable

import structlog

from services.dispatch.domain import commands as cmd
from services.dispatch.domain.allocation import score, why_not
from services.dispatch.domain.model import Job
from services.dispatch.domain.skills import SkillMap
from services.dispatch.service_layer.handlers import WEIGHTS, allocate_auto, candidate, need
from services.dispatch.service_layer.unit_of_work import DispatchUnitOfWork
from shared.clock import Clock
from shared.errors import InvalidTransition

log = structlog.get_logger(__name__)
Act = Callable[[Job, datetime], None]
Offer = Callable[[DispatchUnitOfWork, Job, datetime], Awaitable[str | None]]
BACK_TO_RESOLVER = "back_to_resolver"  # the strategy a reopened job's return to its resolver is recorded with


async def open_job(c: cmd.OpenJob, uow: DispatchUnitOfWork, clock: Clock, skills: SkillMap) -> Job | None:
    """On RequestTriaged: open the job and allocate it in the same transaction when someone is free.
    On a re-triage the job follows the new terms, and one still waiting is offered by them. A
    request intake does not send to dispatch (a complaint, feedback's to handle) gets no job, until
    a triage sends it."""
    triaged = c.triaged
    required = skills.required(triaged.kind, triaged.category)
    job = await uow.jobs.get(triaged.request_id)
    if job is not None:
        return await _follow(uow, job, clock, lambda j, now: j.reprioritise(triaged, required, now), offer_auto)
    if not triaged.dispatch:
        return None
    now = clock.now()
    job = Job.open(triaged, required, now)
    uow.jobs.add(triaged.request_id, job)
    await allocate_auto(uow, job, now)
    return job


async def release_job(c: cmd.ReleaseJob, uow: DispatchUnitOfWork, clock: Clock) -> Job | None:
    return await _follow_request(uow, c.request_id, clock, lambda job, now: job.release(c.reason, now))


async def record_response(c: cmd.RecordResponse, uow: DispatchUnitOfWork, clock: Clock) -> Job | None:
    return await _follow_request(uow, c.request_id, clock, lambda job, now: job.responded(c.acknowledged_at, now))


async def close_unanswered(c: cmd.CloseUnanswered, uow: DispatchUnitOfWork, clock: Clock) -> Job | None:
    return await _follow_request(uow, c.request_id, clock, lambda job, now: job.closed_unanswered(c.closed_at, now))


async def reopen(c: cmd.ReopenJob, uow: DispatchUnitOfWork, clock: Clock) -> Job | None:
    reopened = c.reopened
    reason = reopened.reason or "reopened"
    return await _follow_request(uow, reopened.request_id, clock,
                                 lambda job, now: job.reopen(reason, reopened.rejected_at, now), back_to_resolver)


async def offer_auto(uow: DispatchUnitOfWork, job: Job, now: datetime) -> str | None:
    return await allocate_auto(uow, job, now)


async def back_to_resolver(uow: DispatchUnitOfWork, job: Job, now: datetime) -> str | None:
    """The resource who resolved the job takes it again when the allocation rules let them (on duty,
    a free slot, the skills it needs now, not a partner); else the usual allocation decides, and the
    record says why the resolver was passed over."""
    resolver = job.resolved_by
    if resolver is None:
        return await allocate_auto(uow, job, now)
    row = await uow.resource_row(resolver)
    found, wanted = (candidate(row, now) if row is not None else None), need(job, now)
    why = why_not(wanted, found) if found is not None else "is no longer registered"
    if found is not None and why is None:
        if await uow.reserve(resolver):
            job.allocate(resolver, BACK_TO_RESOLVER, score(wanted, found, WEIGHTS).breakdown(), 1, "dispatch",
                         "reopened: back to who resolved it", now)
            return resolver
        why = "has no free slot"  # another allocator took the last one meanwhile
    return await allocate_auto(uow, job, now, reason=f"reopened: {resolver}, who resolved it, {why}")


async def _follow_request(uow: DispatchUnitOfWork, request_id: str, clock: Clock, act: Act,
                          offer: Offer | None = None) -> Job | None:
    """Apply what intake decided to the job, if the request has one."""
    job = await uow.jobs.get(request_id)
    return None if job is None else await _follow(uow, job, clock, act, offer)


async def _follow(uow: DispatchUnitOfWork, job: Job, clock: Clock, act: Act, offer: Offer | None) -> Job:
    now = clock.now()
    try:
        act(job, now)
    except InvalidTransition as exc:
        log.info("intake's change does not apply to the job now", request_id=job.request_id, reason=str(exc))
        return job
    # Only a job left waiting is offered: one someone holds keeps its holder.
    if offer is not None and job.status == "open":
        await offer(uow, job, now)
    return job


HANDLERS: dict[type, Callable[..., Any]] = {
    cmd.OpenJob: open_job,
    cmd.ReleaseJob: release_job,
    cmd.RecordResponse: record_response,
    cmd.CloseUnanswered: close_unanswered,
    cmd.ReopenJob: reopen,
}
