"""Dispatch's command handlers through the bus, on a fake unit of work (in-memory streams and
slots; no database): who may do what, what each command records, and slots moving with jobs."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

import pytest

from services.dispatch.domain import commands as cmd
from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import Resource
from services.dispatch.domain.skills import SkillMap
from services.dispatch.service_layer import following, handlers, timers
from services.dispatch.service_layer.handlers import Loaded
from services.dispatch.service_layer.unit_of_work import DispatchUnitOfWork
from shared.aggregate import IdSource
from shared.calendar import BusinessCalendar
from shared.clock import FrozenClock
from shared.contracts import intake
from shared.errors import Invalid, InvalidTransition, NotFound
from shared.messagebus import MessageBus, inject
from tests.support.unit_of_work import FakeStore, FakeUnitOfWork

UTC = timezone.utc
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DESK = cmd.Caller("desk-1")


def tech(resource_id: str) -> cmd.Caller:
    return cmd.Caller(resource_id, is_technician=True)


class FakeDispatchUnitOfWork(FakeUnitOfWork, DispatchUnitOfWork):
    """Slots as a dict; a job's slot moves with its holder at commit, as in PostgreSQL."""

    def __init__(self, world: "World", ids: IdSource) -> None:
        super().__init__(world.store, ids)
        self.world = world
        self.reserved: set[str] = set()
        self.held: dict[str, str | None] = {}

    def _open(self) -> None:
        self.reserved, self.held = set(), {}
        self.jobs = self.repository(Job, "job")
        self.resources = self.repository(Resource, "resource")

    async def _begin(self) -> None:
        self.loads = dict(self.world.loads)
        await super()._begin()

    async def save(self) -> None:
        for request_id, job in self.jobs.seen.items():
            if not job.changed:
                continue
            before, after = self.held.get(request_id, self.world.holders.get(request_id)), job.holder
            if before != after:
                if before is not None:
                    self.loads[before] -= 1
                if after is not None and after not in self.reserved:
                    if not await self.reserve(after):
                        raise InvalidTransition(f"resource {after} has no free capacity")
                self.reserved.discard(after or "")
            self.held[request_id] = after
        await super().save()

    async def _commit(self) -> None:
        await super()._commit()
        self.world.loads.update(self.loads)
        self.world.holders.update(self.held)

    async def shortlist(self, skills: Sequence[str], excluded: Sequence[str], zone: str | None,
                        weights: tuple[float, float, float], now: datetime, limit: int, offset: int
                        ) -> list[dict[str, Any]]:
        rows = []
        for resource_id in sorted(self.world.loads):
            row = await self.resource_row(resource_id)
            if row is None or row["kind"] == "partner" or resource_id in excluded or row["load"] >= row["capacity"]:
                continue
            if set(skills) <= set(row["skills"]):
                rows.append(row)
        return rows[offset:offset + limit]

    async def resource_row(self, resource_id: str) -> dict[str, Any] | None:
        r = await self.resources.get(resource_id)
        if r is None:
            return None
        return {"id": r.id, "kind": r.kind, "skills": r.skills, "capacity": r.capacity,
                "load": self.loads.get(resource_id, 0), "zone": r.zone, "status": r.status, "until": r.until,
                "shift": r.shift.to_spec() if r.shift else None}

    async def reserve(self, resource_id: str) -> bool:
        r = await self.resources.get(resource_id)
        if r is None or self.loads.get(resource_id, 0) >= r.capacity:
            return False
        self.loads[resource_id] = self.loads.get(resource_id, 0) + 1
        self.reserved.add(resource_id)
        return True

    async def load_of(self, resource_id: str) -> int:
        return self.loads.get(resource_id, 0)


@dataclass
class World:
    store: FakeStore = field(default_factory=FakeStore)
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(NOW))
    loads: dict[str, int] = field(default_factory=dict)
    holders: dict[str, str | None] = field(default_factory=dict)

    def unit(self, ids: IdSource) -> FakeDispatchUnitOfWork:
        return FakeDispatchUnitOfWork(self, ids)

    @property
    def bus(self) -> MessageBus:
        return MessageBus(self.unit, inject({**handlers.HANDLERS, **following.HANDLERS, **timers.HANDLERS},
                                            clock=self.clock, warning_share=0.75,
                                            skills=SkillMap(by_category={"fault > facilities": ["repair"]})))

    async def register(self, resource_id: str, kind: str = "person", capacity: int = 2,
                       skills: dict[str, int] | None = None) -> Resource:
        answer = await self.bus.handle(cmd.RegisterResource(resource_id, resource_id.title(), kind,
                                                            skills or {"repair": 3}, capacity, None, None, None, DESK))
        self.loads.setdefault(resource_id, 0)
        return answer.body.resource

    def open_job(self, request_id: str = "req-1", skills: Sequence[str] = ("repair",)) -> None:
        """A job opened, nobody free: its JobOpened in the store."""
        job = Job.open(triaged(request_id), list(skills), NOW)
        self.store.streams[f"job-{request_id}"] = [(f"opened-{request_id}", e) for e in job.take_pending()]
        self.holders[request_id] = None


def triaged(request_id: str) -> intake.RequestTriaged:
    return intake.RequestTriaged(
            request_id=request_id, priority="P3", urgency="medium", impact="medium", kind="fault", channel="phone",
            category="fault > facilities > plumbing", emergency=False, zone=None, received_at=NOW,
            respond_by=NOW + timedelta(hours=4), resolve_by=NOW + timedelta(hours=24),
            sla=intake.SlaTargets(policy="test", respond="4h", resolve="24h",
                                  calendar=BusinessCalendar.always_open().to_spec()),
            triaged_by="agent-1", needs_review=False, triaged_at=NOW)


@pytest.fixture
def world() -> World:
    return World()


async def allocated(world: World, resource_id: str = "tech-a", request_id: str = "req-1") -> Job:
    return (await world.bus.handle(cmd.AllocateJob(request_id, resource_id, "nearest", DESK))).body


async def test_a_dispatcher_allocates_taking_a_slot_and_the_answer_carries_the_new_version(world):
    await world.register("tech-a", capacity=1)
    world.open_job()
    job = await allocated(world)
    assert (job.status, job.resource_id, job.version) == ("allocated", "tech-a", 2)
    assert world.loads["tech-a"] == 1
    assert world.store.names("job-req-1") == ["JobOpened", "ResourceAllocated"]
    world.open_job("req-2")
    with pytest.raises(InvalidTransition, match="no free capacity"):
        await allocated(world, request_id="req-2")
    assert world.loads["tech-a"] == 1 and world.store.names("job-req-2") == ["JobOpened"]


async def test_allocating_to_a_resource_without_the_skills_or_that_does_not_exist_is_refused(world):
    await world.register("tech-a", skills={"electrical": 3})
    world.open_job()
    with pytest.raises(Invalid) as refused:
        await allocated(world)
    assert refused.value.field == "resource_id"
    with pytest.raises(NotFound):
        await allocated(world, "tech-nobody")
    with pytest.raises(NotFound):
        await allocated(world, request_id="req-none")


async def test_a_partner_waits_for_approval_and_may_not_work_it_until_then(world):
    await world.register("partner-p", kind="partner")
    world.open_job()
    job = await allocated(world, "partner-p")
    assert (job.status, job.pending_resource, world.loads["partner-p"]) == ("awaiting_approval", "partner-p", 0)
    with pytest.raises(InvalidTransition, match="awaits a dispatcher's approval"):
        await world.bus.handle(cmd.AcceptJob("req-1", tech("partner-p")))
    approved = (await world.bus.handle(cmd.ApproveAllocation("req-1", DESK))).body
    assert (approved.status, approved.resource_id, world.loads["partner-p"]) == ("allocated", "partner-p", 1)
    accepted = (await world.bus.handle(cmd.AcceptJob("req-1", tech("partner-p")))).body
    assert accepted.status == "accepted"


async def test_a_technician_works_only_their_own_jobs_and_a_dispatcher_acts_for_the_holder(world):
    await world.register("tech-a")
    await world.register("tech-b")
    world.open_job()
    await allocated(world)
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.StartWork("req-1", tech("tech-b")))
    await world.bus.handle(cmd.AcceptJob("req-1", tech("tech-a")))
    started = (await world.bus.handle(cmd.StartWork("req-1", DESK))).body  # for tech-a
    assert started.status == "in_progress"
    await world.bus.handle(cmd.AddNote("req-1", "valve ordered", None, tech("tech-a")))
    assert (await world.bus.handle(cmd.PauseWork("req-1", "parts", None, tech("tech-a")))).body.status == "paused"
    assert (await world.bus.handle(cmd.ResumeWork("req-1", DESK))).body.status == "in_progress"
    resolved = (await world.bus.handle(cmd.ResolveJob("req-1", "fixed", "new valve", tech("tech-a")))).body
    assert (resolved.status, resolved.resolved_by) == ("resolved", "tech-a")
    assert world.loads["tech-a"] == 0  # the slot came free
    assert world.store.names("job-req-1")[-6:] == ["AllocationAccepted", "WorkStarted", "WorkNoteAdded",
                                                   "WorkPaused", "WorkResumed", "IssueResolved"]


async def test_a_decline_goes_to_someone_else_and_moves_the_slot(world):
    await world.register("tech-a")
    await world.register("tech-b")
    world.open_job()
    await allocated(world)
    job = (await world.bus.handle(cmd.DeclineJob("req-1", "off sick", tech("tech-a")))).body
    assert (job.status, job.resource_id, sorted(job.declined_by)) == ("allocated", "tech-b", ["tech-a"])
    assert (world.loads["tech-a"], world.loads["tech-b"]) == (0, 1)
    assert world.store.names("job-req-1")[-2:] == ["AllocationDeclined", "ResourceAllocated"]


async def test_an_escalation_is_recorded_by_whoever_asked(world):
    world.open_job()
    job = (await world.bus.handle(cmd.EscalateJob("req-1", "manager", "customer furious", DESK))).body
    assert job.escalation == "manager" and world.store.names("job-req-1")[-1] == "JobEscalated"


async def test_a_retried_command_records_once(world):
    await world.register("tech-a")
    world.open_job()
    await allocated(world)

    @dataclass
    class Key:
        scope: str
        key: str | None
        body_hash: str = "b"

    key = Key("accept:tech-a:/v1/jobs/req-1/accept", "k-1")
    first = await world.bus.handle(cmd.AcceptJob("req-1", tech("tech-a")), key, view=lambda j: j.version)
    again = await world.bus.handle(cmd.AcceptJob("req-1", tech("tech-a")), key, view=lambda j: j.version)
    assert (first.body, again.body, again.replayed) == (3, 3, True)
    world.store.answers.clear()  # recorded, not yet answered: answers from the stream
    third = await world.bus.handle(cmd.AcceptJob("req-1", tech("tech-a")), key, view=lambda j: j.version)
    assert third.body == 3 and world.store.names("job-req-1").count("AllocationAccepted") == 1


async def test_resources_register_once_and_technicians_change_only_their_own_availability(world):
    await world.register("tech-a")
    with pytest.raises(InvalidTransition, match="registered already"):
        await world.register("tech-a")
    drawn = (await world.bus.handle(cmd.RegisterResource(None, "Van 2", "equipment", {"lift": 3}, 1, None, None,
                                                         None, DESK))).body
    assert isinstance(drawn, Loaded) and drawn.resource.id and drawn.load == 0
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.ChangeAvailability("tech-a", "off_duty", None, "home", tech("tech-b")))
    off = (await world.bus.handle(cmd.ChangeAvailability("tech-a", "off_duty", None, "home", tech("tech-a")))).body
    assert off.resource.status == "off_duty" and off.resource.version == 2
    updated = (await world.bus.handle(cmd.UpdateResource("tech-a", {"capacity": 4}, "more vans", DESK))).body
    assert (updated.resource.capacity, updated.load, updated.resource.version) == (4, 0, 3)


async def test_a_triaged_request_opens_its_job_allocated_when_someone_is_free_and_a_redelivery_records_nothing(world):
    class Record:
        scope, key, body_hash = "dispatch", "env-1", ""

    waiting = (await world.bus.handle(cmd.OpenJob(triaged("req-9")))).body
    assert (waiting.status, list(waiting.terms.required_skills), world.store.names("job-req-9")) == (
        "open", ["repair"], ["JobOpened"])
    await world.register("tech-a")
    taken = (await world.bus.handle(cmd.AllocateWaiting("req-9"))).body
    assert taken == "tech-a" and world.loads["tech-a"] == 1
    assert (await world.bus.handle(cmd.AllocateWaiting("req-9"))).body is None  # no longer waiting
    opened = (await world.bus.handle(cmd.OpenJob(triaged("req-8")), Record())).body
    assert (opened.status, opened.resource_id, world.loads["tech-a"]) == ("allocated", "tech-a", 2)
    world.store.answers.clear()
    await world.bus.handle(cmd.OpenJob(triaged("req-8")), Record())
    assert world.store.names("job-req-8") == ["JobOpened", "ResourceAllocated"]


async def test_a_reopened_job_goes_back_to_who_resolved_it_and_a_released_one_frees_its_slot(world):
    await world.register("tech-a")
    await world.register("tech-b")
    world.open_job()
    await allocated(world)
    await world.bus.handle(cmd.AcceptJob("req-1", tech("tech-a")))
    await world.bus.handle(cmd.StartWork("req-1", tech("tech-a")))
    await world.bus.handle(cmd.ResolveJob("req-1", "fixed", "valve", tech("tech-a")))
    reopened = intake.RequestReopened(request_id="req-1", reason="still drips", reopen_count=1,
                                      rejected_at=NOW + timedelta(hours=1), reopened_at=NOW + timedelta(hours=1))
    world.clock.set(NOW + timedelta(hours=1))
    job = (await world.bus.handle(cmd.ReopenJob(reopened))).body
    assert (job.status, job.resource_id, world.loads["tech-a"]) == ("allocated", "tech-a", 1)
    assert world.store.events("job-req-1")[-1].strategy == following.BACK_TO_RESOLVER
    released = (await world.bus.handle(cmd.ReleaseJob("req-1", "withdrawn"))).body
    assert (released.status, world.loads["tech-a"]) == ("released", 0)
    assert (await world.bus.handle(cmd.ReleaseJob("req-none", "merged"))).body is None


async def test_a_due_timer_fires_once_and_a_stale_one_records_nothing(world):
    world.open_job("req-5")
    job = (await world.bus.handle(cmd.FireTimer("req-5", "nothing_due"))).body
    assert world.store.names("job-req-5") == ["JobOpened"]  # stale: its clock has no such timer
    due = job.timers(0.75)
    timer, at = min(due.items(), key=lambda t: t[1])
    world.clock.set(at)
    await world.bus.handle(cmd.FireTimer("req-5", timer))
    fired = world.store.names("job-req-5")[1:]
    assert fired and fired[0] in ("SlaWarning", "SlaBreached", "JobEscalated")
    await world.bus.handle(cmd.FireTimer("req-5", timer))  # picked again: handled already
    assert world.store.names("job-req-5")[1:] == fired
