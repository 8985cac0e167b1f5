"""The job aggregate (the work a request needs) and the resource aggregate (who or what does it)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from services.dispatch.domain.job_clocks import JobClocks
from services.dispatch.domain.terms import Terms
from shared.aggregate import Aggregate
from shared.contracts import dispatch as ev
from shared.contracts import intake
from shared.errors import Invalid, InvalidTransition

HOLDING = frozenset({"allocated", "accepted", "in_progress", "paused"})  # a resource's capacity is taken
LIVE = HOLDING | {"open", "awaiting_approval"}
LEVELS = ("team_lead", "manager")
P1_UNALLOCATED = timedelta(minutes=5)


class Job(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.request_id, self.status = "", "new"
        self.opened: ev.JobOpened | None = None
        self.resource_id: str | None = None
        self.pending_resource: str | None = None
        self.declined_by: set[str] = set()
        self.resolved_by: str | None = None  # who resolved it last: a reopened job goes back to them first
        self._clocks: JobClocks | None = None
        self.fired: set[str] = set()  # "response_warning", "resolution_breach", "p1_unallocated", ...
        self.escalation: str | None = None
        self.open_since: datetime | None = None  # when it last started waiting for a first allocation
        self._terms: Terms | None = None

    @property
    def terms(self) -> Terms:
        """What the job owes as intake last triaged it (set from JobOpened on)."""
        assert self._terms is not None, "a job has terms once opened"
        return self._terms

    @property
    def clocks(self) -> JobClocks:
        """Its response and resolution clocks (set from JobOpened on)."""
        assert self._clocks is not None, "a job has clocks once opened"
        return self._clocks

    @property
    def holder(self) -> str | None:
        return self.resource_id if self.status in HOLDING else None

    @property
    def priority(self) -> str:
        return self.terms.priority

    @property
    def respond_by(self) -> datetime:
        return self.terms.respond_by

    @property
    def resolve_by(self) -> datetime:
        return self.terms.resolve_by

    def _require(self, action: str, *allowed: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(f"cannot {action} job {self.request_id}: it is {self.status}")

    def _require_holder(self, resource_id: str, action: str) -> None:
        if resource_id != self.resource_id:
            raise InvalidTransition(f"cannot {action} job {self.request_id}: it is not allocated to {resource_id}")

    @classmethod
    def open(cls, triaged: intake.RequestTriaged, required_skills: Sequence[str], now: datetime) -> "Job":
        job = cls()
        job.record(ev.JobOpened(
            request_id=triaged.request_id, priority=triaged.priority, kind=triaged.kind, category=triaged.category,
            required_skills=list(required_skills), zone=triaged.zone,
            emergency=triaged.emergency, received_at=triaged.received_at, respond_by=triaged.respond_by,
            resolve_by=triaged.resolve_by, calendar=triaged.sla.calendar, opened_at=now,
        ))
        if job.terms.emergency:
            job.escalate("team_lead", "p1", "P1: the emergency fast track escalates at once", "dispatch", now)
        return job

    def reprioritise(self, triaged: intake.RequestTriaged, required_skills: Sequence[str], now: datetime) -> None:
        """Follow a new triage whole (`Terms`); a job upgraded to P1 takes the emergency fast track at once."""
        if self.status in ("resolved", "released"):
            return
        new = Terms.triaged(triaged, required_skills)
        if new == self.terms:
            return  # intake triaged it again to the same terms: nothing for the job to follow
        was_emergency = self.terms.emergency
        self.record(ev.JobReprioritised(
            request_id=self.request_id, priority=new.priority, emergency=new.emergency, category=new.category,
            required_skills=list(new.required_skills), zone=new.zone, calendar=new.calendar.to_spec(),
            respond_by=new.respond_by, resolve_by=new.resolve_by, reprioritised_at=now,
        ))
        if new.emergency and not was_emergency:
            self.escalate("team_lead", "p1", "upgraded to P1: the emergency fast track escalates at once", "dispatch", now)

    def request_allocation(self, resource_id: str, by: str, reason: str, now: datetime) -> None:
        self._require("request an allocation for", "open", "allocated", "accepted")
        self.record(ev.AllocationRequested(request_id=self.request_id, resource_id=resource_id, requested_by=by,
                                           reason=reason, requested_at=now))

    def approve(self, by: str, now: datetime) -> None:
        self._require("approve the allocation of", "awaiting_approval")
        assert self.pending_resource is not None
        resource = self.pending_resource
        self.record(ev.AllocationApproved(request_id=self.request_id, resource_id=resource, approved_by=by,
                                          approved_at=now))
        self.allocate(resource, "manual", None, 0, by, "approved", now)

    def allocate(self, resource_id: str, strategy: str, score: dict[str, float] | None, candidates: int,
                 by: str, reason: str | None, now: datetime) -> None:
        self._require("allocate", "open", "allocated", "accepted", "in_progress", "paused", "awaiting_approval")
        if resource_id == self.resource_id and self.status in HOLDING:
            raise InvalidTransition(f"job {self.request_id} is already allocated to {resource_id}")
        self.record(ev.ResourceAllocated(
            request_id=self.request_id, resource_id=resource_id, strategy=strategy, score=score,
            candidates=candidates, allocated_by=by, previous_resource_id=self.holder, reason=reason,
            allocated_at=now,
        ))

    def accept(self, resource_id: str, now: datetime) -> None:
        self._require("accept", "allocated")
        self._require_holder(resource_id, "accept")
        self.record(ev.AllocationAccepted(request_id=self.request_id, resource_id=resource_id, accepted_at=now))

    def decline(self, resource_id: str, reason: str, now: datetime) -> None:
        self._require("decline", "allocated", "accepted")
        self._require_holder(resource_id, "decline")
        self.record(ev.AllocationDeclined(request_id=self.request_id, resource_id=resource_id, reason=reason,
                                          declined_at=now))

    def start(self, resource_id: str, now: datetime) -> None:
        self._require("start", "allocated", "accepted")
        self._require_holder(resource_id, "start")
        self.record(ev.WorkStarted(request_id=self.request_id, resource_id=resource_id, started_at=now))

    def responded(self, acknowledged_at: datetime, now: datetime) -> None:
        """Intake acknowledged the request (its first response); a later acknowledgement is none."""
        if not self.clocks.response.stopped:
            self.record(ev.ResponseClockStopped(request_id=self.request_id, cause="acknowledged",
                                                stopped_at=acknowledged_at, recorded_at=now))

    def closed_unanswered(self, closed_at: datetime, now: datetime) -> None:
        """The request closed; if nobody ever acknowledged it, no response is owed any more."""
        if not self.clocks.response.stopped:
            self.record(ev.ResponseClockStopped(request_id=self.request_id, cause="closed", stopped_at=closed_at,
                                                recorded_at=now))

    def add_note(self, author: str, note: str, milestone: str | None, now: datetime) -> None:
        self._require("add a note to", *LIVE)
        self.record(ev.WorkNoteAdded(request_id=self.request_id, author=author, note=note, milestone=milestone,
                                     added_at=now))

    def pause(self, waiting_on: str, note: str | None, now: datetime) -> None:
        self._require("pause", "in_progress")
        self.record(ev.WorkPaused(request_id=self.request_id, waiting_on=waiting_on, note=note, paused_at=now))

    def resume(self, now: datetime) -> None:
        self._require("resume", "paused")
        self.record(ev.WorkResumed(request_id=self.request_id, resumed_at=now))

    def resolve(self, resource_id: str, code: str, summary: str, now: datetime) -> None:
        self._require("resolve", "in_progress")
        self._require_holder(resource_id, "resolve")
        self.record(ev.IssueResolved(request_id=self.request_id, resource_id=resource_id, resolution_code=code,
                                     summary=summary, resolved_at=now))

    def escalate(self, level: str, trigger: str, reason: str, by: str, now: datetime) -> None:
        self._require("escalate", *LIVE)
        if level not in LEVELS:
            raise Invalid("level", f"one of {', '.join(LEVELS)}")
        self.record(ev.JobEscalated(request_id=self.request_id, level=level, trigger=trigger, reason=reason,
                                    escalated_by=by, escalated_at=now))

    def release(self, reason: str, now: datetime) -> None:
        self._require("release", *LIVE)
        self.record(ev.JobReleased(request_id=self.request_id, resource_id=self.holder, reason=reason,
                                   released_at=now))

    def reopen(self, reason: str, rejected_at: datetime, now: datetime) -> None:
        """The customer rejected the resolution at `rejected_at` (intake's RequestReopened)."""
        self._require("reopen", "resolved")
        self.record(ev.JobReopened(request_id=self.request_id, reason=reason, rejected_at=min(rejected_at, now),
                                   reopened_at=now))

    def timers(self, share: float) -> dict[str, datetime]:
        """What the SLA scheduler must fire for this job, and when (nothing already fired)."""
        due = self.clocks.timers(share, self.fired)
        if self.opened and self.priority == "P1" and self.status == "open" and "p1_unallocated" not in self.fired:
            due["p1_unallocated"] = (self.open_since or self.opened.opened_at) + P1_UNALLOCATED
        return due

    def fire(self, timer: str, share: float, now: datetime) -> None:
        """A timer came due: warn, breach or escalate, once."""
        if timer not in self.timers(share):
            return  # stale: the clock stopped, paused or was already handled
        if timer == "p1_unallocated":
            self.escalate("manager", "p1_unallocated", "P1 still unallocated after 5 minutes", "sla", now)
            return
        clock, kind = timer.rsplit("_", 1)
        deadline = self.clocks[clock].deadline()
        assert deadline is not None
        if kind == "warning":
            self.record(ev.SlaWarning(request_id=self.request_id, clock=clock, deadline=deadline, warned_at=now))
            level, trigger, reason = "team_lead", "sla_warning", f"{clock} SLA at risk"
        else:
            self.record(ev.SlaBreached(request_id=self.request_id, clock=clock, deadline=deadline, breached_at=now))
            level, trigger, reason = "manager", "sla_breach", f"{clock} SLA breached"
        # A response still owed by a job already resolved is recorded for the reports, but there is
        # no work left to escalate.
        if self.status in LIVE:
            self.escalate(level, trigger, reason, "sla", now)

    def when_JobOpened(self, e: ev.JobOpened) -> None:
        self.request_id, self.opened, self.status, self.open_since = e.request_id, e, "open", e.opened_at
        self._terms = Terms.opened(e)
        self._clocks = JobClocks.opened(self._terms, e.received_at)

    def when_JobReprioritised(self, e: ev.JobReprioritised) -> None:
        self._terms = self.terms.reprioritised(e)
        self._clocks = self.clocks.retarget(self._terms)

    def when_AllocationRequested(self, e: ev.AllocationRequested) -> None:
        self.status, self.pending_resource = "awaiting_approval", e.resource_id

    def when_AllocationApproved(self, e: ev.AllocationApproved) -> None:
        self.pending_resource = None

    def when_ResourceAllocated(self, e: ev.ResourceAllocated) -> None:
        self.status, self.resource_id, self.pending_resource = "allocated", e.resource_id, None
        self._clocks = self.clocks.wait_over(e.allocated_at)  # a reassigned paused job: the wait ends

    def when_AllocationAccepted(self, e: ev.AllocationAccepted) -> None:
        self.status = "accepted"

    def when_AllocationDeclined(self, e: ev.AllocationDeclined) -> None:
        self.status, self.resource_id = "open", None
        self.declined_by.add(e.resource_id)

    def when_WorkStarted(self, e: ev.WorkStarted) -> None:
        self.status = "in_progress"  # the response clock is intake's: starting work does not stop it

    def when_ResponseClockStopped(self, e: ev.ResponseClockStopped) -> None:
        self._clocks = (self.clocks.responded(e.stopped_at) if e.cause == "acknowledged"
                        else self.clocks.ended_unanswered(e.stopped_at))

    def when_WorkNoteAdded(self, e: ev.WorkNoteAdded) -> None:
        pass

    def when_WorkPaused(self, e: ev.WorkPaused) -> None:
        self.status = "paused"
        self._clocks = self.clocks.waiting(e.paused_at)

    def when_WorkResumed(self, e: ev.WorkResumed) -> None:
        self.status = "in_progress"
        self._clocks = self.clocks.wait_over(e.resumed_at)

    def when_IssueResolved(self, e: ev.IssueResolved) -> None:
        self.status, self.resolved_by = "resolved", e.resource_id
        self._clocks = self.clocks.resolved(e.resolved_at)

    def when_JobEscalated(self, e: ev.JobEscalated) -> None:
        if e.trigger == "p1_unallocated":
            self.fired.add("p1_unallocated")
        if self.escalation is None or LEVELS.index(e.level) > LEVELS.index(self.escalation):
            self.escalation = e.level

    def when_SlaWarning(self, e: ev.SlaWarning) -> None:
        self.fired.add(f"{e.clock}_warning")

    def when_SlaBreached(self, e: ev.SlaBreached) -> None:
        self.fired.add(f"{e.clock}_breach")

    def when_JobReleased(self, e: ev.JobReleased) -> None:
        self.status = "released"
        self._clocks = self.clocks.released(e.released_at)

    def when_JobReopened(self, e: ev.JobReopened) -> None:
        # The resolution is owed again, within what is left of the same budget: no fresh clock, so
        # dispatch's deadline stays intake's resolve_by (moved back by the waits). A warning or
        # breach already fired stays fired.
        self.status, self.resource_id, self.open_since = "open", None, e.reopened_at
        self.fired.discard("p1_unallocated")
        self._clocks = self.clocks.reopened(e.rejected_at)
