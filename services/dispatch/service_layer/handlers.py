"""Dispatch's command handlers, and `HANDLERS`, by which the bus (shared.messagebus) finds them
(what it does when intake decides is in `following.py`, the clock's doings in `background.py`).

Each handler takes its command and the unit of work, and what bootstrap injects (the clock), and
returns what it changed, from which the entrypoint builds its answer. Every change to a job is one
transaction: its events, the capacity it takes or frees, its row and its SLA timers commit
together, or not at all; transactions, idempotency, saving, retrying a lost race and remembering
the answer are the bus's."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import structlog

from services.dispatch.adapters.tables import CapacityExceeded, DispatchTables
from services.dispatch.domain import commands as cmd
from services.dispatch.domain.allocation import Candidate, JobNeed, Weights, best_for
from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import NEEDS_APPROVAL, Resource, available
from services.dispatch.domain.skills import SkillMap
from services.dispatch.service_layer.unit_of_work import Capacity, DispatchUnitOfWork
from shared.aggregate import IdSource
from shared.calendar import BusinessCalendar
from shared.clock import Clock
from shared.db import Conn, Database
from shared.errors import Invalid, InvalidTransition, NotFound
from shared.messagebus import MessageBus
from shared.repository import EventSourcedRepository

log = structlog.get_logger(__name__)
WEIGHTS = Weights()


@dataclass
class Dispatch:
    """What dispatch's entrypoints and loops use. `bus` and `unit_on` (a unit of work joined to a
    transaction its caller holds: the consumer's, the allocator's) are set by bootstrap."""

    jobs: EventSourcedRepository[Job]
    resources: EventSourcedRepository[Resource]
    tables: DispatchTables
    db: Database
    clock: Clock
    skills: SkillMap
    warning_share: float = 0.75
    bus: MessageBus = field(default=None)  # type: ignore[assignment]
    unit_on: Callable[[Conn, IdSource], DispatchUnitOfWork] = field(default=None)  # type: ignore[assignment]


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


async def allocate_auto(capacity: Capacity, job: Job, now: datetime, strategy: str = "auto",
                        reason: str | None = None) -> str | None:
    """Give the job to the best available resource with a free slot; returns the one reserved.
    `reason` goes on the record when something other than the score decided to ask (a reopening)."""
    wanted = need(job, now)
    weights = (WEIGHTS.skill * (1 + WEIGHTS.risk_boost * min(max(wanted.risk, 0.0), 1.0)), WEIGHTS.load, WEIGHTS.zone)
    skills = list(dict.fromkeys(wanted.required_skills))
    for offset in range(0, 10_000, SHORTLIST):
        rows = await capacity.shortlist(skills, sorted(job.declined_by), wanted.zone, weights, now, SHORTLIST, offset)
        pool = [candidate(r, now) for r in rows]
        while (best := best_for(wanted, pool)) is not None:
            if await capacity.reserve(best.resource_id):  # a concurrent allocator may have taken it
                job.allocate(best.resource_id, strategy, best.score.breakdown(), len(pool), "dispatch", reason, now)
                return best.resource_id
            pool = [c for c in pool if c.id != best.resource_id]
        if len(rows) < SHORTLIST:
            return None
    return None


# Who may do what
def sees(caller: cmd.Caller, job: Job) -> None:
    """A technician sees only the jobs allocated (or offered) to them; any other does not exist for them."""
    if caller.is_technician and caller.id not in (job.resource_id, job.pending_resource):
        raise NotFound(f"no job for request {job.request_id!r}")


def may_work(caller: cmd.Caller, job: Job) -> None:
    """A technician changes only a job allocated to them. A partner still awaiting approval sees the
    job (so they can prepare) but may not work it, note it or escalate it: allocation comes after
    approval (DOMAIN.md: approval → allocate → execute), so it is a 409 until a dispatcher approves."""
    sees(caller, job)
    if caller.is_technician and caller.id != job.resource_id:
        raise InvalidTransition(f"cannot work job {job.request_id}: its allocation to {caller.id} "
                                f"awaits a dispatcher's approval")


def acting(caller: cmd.Caller, job: Job) -> str:
    """Who does the work: the technician themself, or the holder when a dispatcher acts for them."""
    return caller.id if caller.is_technician else (job.resource_id or caller.id)


def only_their_own(caller: cmd.Caller, resource_id: str) -> None:
    """A technician sees and changes only their own resource; any other does not exist for them."""
    if caller.is_technician and caller.id != resource_id:
        raise NotFound(f"no resource {resource_id!r}")


async def job_to_work(uow: DispatchUnitOfWork, request_id: str, caller: cmd.Caller) -> Job:
    job = await uow.jobs.get(request_id)
    if job is None:
        raise NotFound(f"no job for request {request_id!r}")
    may_work(caller, job)
    return job


async def resource_of(uow: DispatchUnitOfWork, resource_id: str) -> Resource:
    resource = await uow.resources.get(resource_id)
    if resource is None:
        raise NotFound(f"no resource {resource_id!r}")
    return resource


# Jobs
async def allocate_job(c: cmd.AllocateJob, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    resource = await resource_of(uow, c.resource_id)
    missing = sorted(set(job.terms.required_skills) - set(resource.skills))
    if missing:
        raise Invalid("resource_id", f"{c.resource_id} lacks the skills this job needs: {', '.join(missing)}")
    now = clock.now()
    if resource.kind in NEEDS_APPROVAL:
        job.request_allocation(c.resource_id, c.caller.id, c.reason, now)
        return job
    if not await uow.reserve(c.resource_id):
        raise CapacityExceeded(f"resource {c.resource_id} has no free capacity")
    job.allocate(c.resource_id, "manual", None, 1, c.caller.id, c.reason, now)
    return job


async def approve_allocation(c: cmd.ApproveAllocation, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    pending = job.pending_resource
    if pending is None or not await uow.reserve(pending):
        raise CapacityExceeded(f"resource {pending} has no free capacity")
    job.approve(c.caller.id, clock.now())
    return job


async def accept_job(c: cmd.AcceptJob, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    job.accept(acting(c.caller, job), clock.now())
    return job


async def decline_job(c: cmd.DeclineJob, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    now = clock.now()
    job.decline(acting(c.caller, job), c.reason, now)
    await allocate_auto(uow, job, now)  # to someone else: the decliner is never offered it again
    return job


async def start_work(c: cmd.StartWork, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    job.start(acting(c.caller, job), clock.now())
    return job


async def add_note(c: cmd.AddNote, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    job.add_note(c.caller.id, c.note, c.milestone, clock.now())
    return job


async def pause_work(c: cmd.PauseWork, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    job.pause(c.waiting_on, c.note, clock.now())
    return job


async def resume_work(c: cmd.ResumeWork, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    job.resume(clock.now())
    return job


async def resolve_job(c: cmd.ResolveJob, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    job.resolve(acting(c.caller, job), c.resolution_code, c.summary, clock.now())
    return job


async def escalate_job(c: cmd.EscalateJob, uow: DispatchUnitOfWork, clock: Clock) -> Job:
    job = await job_to_work(uow, c.request_id, c.caller)
    job.escalate(c.level, "manual", c.reason, c.caller.id, clock.now())
    return job


# Resources
@dataclass(frozen=True)
class Loaded:
    """A resource as changed, and how many of its slots are taken."""

    resource: Resource
    load: int


async def register_resource(c: cmd.RegisterResource, uow: DispatchUnitOfWork, clock: Clock) -> Loaded:
    resource_id = c.resource_id or uow.ids.next()
    if await uow.resources.get(resource_id) is not None:
        raise InvalidTransition(f"resource {resource_id} is registered already")
    resource = Resource.register(resource_id, c.name, c.kind, c.skills, c.capacity, c.zone, c.shift, c.caller.id,
                                 clock.now(), team=c.team)
    uow.resources.add(resource_id, resource)
    return Loaded(resource, 0)


async def update_resource(c: cmd.UpdateResource, uow: DispatchUnitOfWork, clock: Clock) -> Loaded:
    resource = await resource_of(uow, c.resource_id)
    load = await uow.load_of(c.resource_id)
    resource.update(c.changes, load, c.reason, c.caller.id, clock.now())
    return Loaded(resource, load)


async def change_availability(c: cmd.ChangeAvailability, uow: DispatchUnitOfWork, clock: Clock) -> Loaded:
    only_their_own(c.caller, c.resource_id)
    resource = await resource_of(uow, c.resource_id)
    load = await uow.load_of(c.resource_id)
    resource.set_availability(c.status, c.until, c.reason, c.caller.id, clock.now())
    return Loaded(resource, load)


# The allocator's
async def allocate_waiting(c: cmd.AllocateWaiting, uow: DispatchUnitOfWork, clock: Clock) -> str | None:
    """A waiting job to the best resource free now, or to the batch plan's; returns the one reserved."""
    job = await uow.jobs.get(c.request_id)
    if job is None:
        raise NotFound(f"no job for request {c.request_id!r}")
    if job.status != "open":
        return None
    now = clock.now()
    if c.resource_id is None:
        return await allocate_auto(uow, job, now)
    if not await uow.reserve(c.resource_id):
        return None
    job.allocate(c.resource_id, "batch", c.score, 0, "dispatch", None, now)
    return c.resource_id


HANDLERS: dict[type, Callable[..., Any]] = {
    cmd.AllocateJob: allocate_job,
    cmd.ApproveAllocation: approve_allocation,
    cmd.AcceptJob: accept_job,
    cmd.DeclineJob: decline_job,
    cmd.StartWork: start_work,
    cmd.AddNote: add_note,
    cmd.PauseWork: pause_work,
    cmd.ResumeWork: resume_work,
    cmd.ResolveJob: resolve_job,
    cmd.EscalateJob: escalate_job,
    cmd.RegisterResource: register_resource,
    cmd.UpdateResource: update_resource,
    cmd.ChangeAvailability: change_availability,
    cmd.AllocateWaiting: allocate_waiting,
}
