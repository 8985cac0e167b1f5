"""Dispatch's use cases (what it does when intake decides is in `following.py`). Every change to a
job is one transaction: its events, the capacity it takes or frees, its row and its SLA timers
commit together, or not at all."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable

import structlog

from services.dispatch.adapters.tables import CapacityExceeded, DispatchTables
from services.dispatch.domain.allocation import Candidate, JobNeed, Weights, best_for
from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import NEEDS_APPROVAL, Resource, available
from services.dispatch.domain.skills import SkillMap
from shared.aggregate import IdSource
from shared.calendar import BusinessCalendar
from shared.clock import Clock
from shared.db import Conn, Database
from shared.errors import Invalid, NotFound
from shared.repository import EventSourcedRepository
from shared.retry import on_conflict

log = structlog.get_logger(__name__)
WEIGHTS = Weights()
Check = Callable[[Job], None]
Mutation = Callable[[Conn, Job], Awaitable[str | None]]


@dataclass
class Dispatch:
    jobs: EventSourcedRepository[Job]
    resources: EventSourcedRepository[Resource]
    tables: DispatchTables
    db: Database
    clock: Clock
    skills: SkillMap
    warning_share: float = 0.75
    wake_allocator: Callable[[], None] = lambda: None


async def save_job(d: Dispatch, conn: Conn, job: Job, before: str | None, ids: IdSource,
                   reserved: str | None = None) -> None:
    await d.tables.lock_timers(conn, job.request_id)  # first, in the scheduler's order (see there)
    await d.jobs.save(conn, job.request_id, job, ids)
    await d.tables.move_load(conn, before, job.holder, reserved)
    await d.tables.save_job(conn, job, job.timers(d.warning_share), d.clock.now())


async def load_job(conn: Conn, d: Dispatch, request_id: str) -> Job:
    job = await d.jobs.get(conn, request_id)
    if job is None:
        raise NotFound(f"no job for request {request_id!r}")
    return job


def candidate(row: dict[str, Any], now: datetime) -> Candidate:
    shift = BusinessCalendar.from_spec(row["shift"]) if row["shift"] else None
    return Candidate(id=row["id"], kind=row["kind"], skills=row["skills"], capacity=row["capacity"],
                     load=row["load"], zone=row["zone"], available=available(row["status"], row["until"], shift, now))


def need(job: Job, now: datetime) -> JobNeed:
    assert job.opened is not None
    clock = job.clocks["response"]
    risk = min(1.0, clock.used(now) / clock.budget) if clock.budget.total_seconds() > 0 else 1.0
    return JobNeed(id=job.request_id, priority=job.priority, required_skills=job.terms.required_skills,
                   zone=job.terms.zone, risk=risk)


SHORTLIST = 8


async def allocate_auto(conn: Conn, d: Dispatch, job: Job, strategy: str = "auto", reason: str | None = None
                        ) -> str | None:
    """Give the job to the best available resource with a free slot; returns the one reserved.
    `reason` goes on the record when something other than the score decided to ask (a reopening)."""
    now = d.clock.now()
    wanted = need(job, now)
    weights = (WEIGHTS.skill * (1 + WEIGHTS.risk_boost * min(max(wanted.risk, 0.0), 1.0)), WEIGHTS.load, WEIGHTS.zone)
    skills = list(dict.fromkeys(wanted.required_skills))
    for offset in range(0, 10_000, SHORTLIST):
        rows = await d.tables.shortlist(conn, skills, sorted(job.declined_by), wanted.zone, weights, now,
                                        SHORTLIST, offset)
        pool = [candidate(r, now) for r in rows]
        while (best := best_for(wanted, pool)) is not None:
            if await d.tables.reserve(conn, best.resource_id):  # a concurrent allocator may have taken it
                job.allocate(best.resource_id, strategy, best.score.breakdown(), len(pool), "dispatch", reason, now)
                return best.resource_id
            pool = [c for c in pool if c.id != best.resource_id]
        if len(rows) < SHORTLIST:
            return None
    return None


async def change_job(d: Dispatch, request_id: str, seed: str | None, check: Check, mutate: Mutation) -> Job:
    """Load, check, change and save in one transaction; on a lost race, start over."""

    async def attempt() -> Job:
        ids = IdSource(seed)
        async with d.db.begin() as conn:
            job = await load_job(conn, d, request_id)
            check(job)
            if ids.seeded and ids.peek() in job.recorded_ids:
                return job
            before = job.holder
            reserved = await mutate(conn, job)
            if job.changed:
                await save_job(d, conn, job, before, ids, reserved)
        if before is not None and job.holder != before:
            d.wake_allocator()  # a slot came free: waiting jobs may fit now
        return job

    return await on_conflict(attempt)


async def allocate_manually(conn: Conn, d: Dispatch, job: Job, resource_id: str, by: str, reason: str) -> str | None:
    resource = await d.resources.get(conn, resource_id)
    if resource is None:
        raise NotFound(f"no resource {resource_id!r}")
    missing = sorted(set(job.terms.required_skills) - set(resource.skills))
    if missing:
        raise Invalid("resource_id", f"{resource_id} lacks the skills this job needs: {', '.join(missing)}")
    now = d.clock.now()
    if resource.kind in NEEDS_APPROVAL:
        job.request_allocation(resource_id, by, reason, now)
        return None
    if not await d.tables.reserve(conn, resource_id):
        raise CapacityExceeded(f"resource {resource_id} has no free capacity")
    job.allocate(resource_id, "manual", None, 1, by, reason, now)
    return resource_id


async def approve(conn: Conn, d: Dispatch, job: Job, by: str) -> str | None:
    pending = job.pending_resource
    if pending is None or not await d.tables.reserve(conn, pending):
        raise CapacityExceeded(f"resource {pending} has no free capacity")
    job.approve(by, d.clock.now())
    return pending


async def decline(conn: Conn, d: Dispatch, job: Job, resource_id: str, reason: str) -> str | None:
    job.decline(resource_id, reason, d.clock.now())
    return await allocate_auto(conn, d, job)  # to someone else: the decliner is never offered it again


async def save_resource(conn: Conn, d: Dispatch, resource: Resource, ids: IdSource) -> None:
    await d.resources.save(conn, resource.id, resource, ids)
    await d.tables.save_resource(conn, resource)
