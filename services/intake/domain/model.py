"""The service request aggregate: intake's knowledge of one customer need, and its rules."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.intake.domain import commands as cmd
from services.intake.domain.categories import CategoryTree
from services.intake.domain.lifecycle import FINAL, OPEN, WITH_A_HOLDER, Status, after_fact, command_allowed
from services.intake.domain.priority import DEFAULT_MATRIX, Level, Matrix, Priority, prioritise
from services.intake.domain.sla import DEFAULT_POLICY, SlaPolicy, spec_of
from services.intake.domain.zones import ZoneMap
from shared.aggregate import Aggregate
from shared.contracts import intake as ev
from shared.contracts.feedback import complaint_taken_at_intake
from shared.errors import Invalid, InvalidTransition

SELF_SERVICE = "self-service"
AUTO = "auto"
# Kinds feedback handles (it raises a complaint of its own for each): not dispatch's work unless
# the desk sends them there at triage.
FEEDBACKS_OWN = frozenset({"complaint"})


UPDATABLE = {"title", "description", "location", "customer.name", "customer.phone", "customer.email"}
# What the customer wrote or is (shared.contracts.intake marks the same fields PERSONAL).
PERSONAL = {"title", "description", "location", "customer.name", "customer.phone", "customer.email"}
# Every request has these: an update may change them, never remove them (queues and the duplicate
# hint read them for every agent, so one request without a title broke the desk for everyone).
REQUIRED = {"title", "description", "customer.name"}


@dataclass(frozen=True)
class Rules:
    """The configuration a request is judged by."""

    policy: SlaPolicy = DEFAULT_POLICY
    matrix: Matrix = field(default_factory=lambda: DEFAULT_MATRIX)
    categories: CategoryTree = field(default_factory=CategoryTree)
    zones: ZoneMap = field(default_factory=ZoneMap)


class ServiceRequest(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.id, self.status = "", Status.received
        self.progress_at: datetime | None = None  # when the latest outside fact (or reopening) happened
        self.owner = ""  # who on the desk answers for it (SELF_SERVICE until someone takes it)
        self.holder: str | None = None  # the resource dispatch gave the job to, while it has it
        self.holders: set[str] = set()  # everyone who held it: technicians may read it
        self.received: ev.RequestReceived | None = None
        self.triage: ev.RequestTriaged | None = None
        self.acknowledged: ev.RequestAcknowledged | None = None
        self.need: ev.NeedConfirmed | None = None
        self.details: dict[str, object] = {}
        self.contacts = 0
        self.reopen_count = 0
        self.merged_into: str | None = None

    @property
    def customer_id(self) -> str:
        assert self.received is not None
        return self.received.customer.id

    def _require(self, action: str) -> None:
        if not command_allowed(action, self.status, self.acknowledged is not None):
            detail = " and already acknowledged" if action == "acknowledge" and self.acknowledged else ""
            raise InvalidTransition(f"cannot {action} request {self.id}: it is {self.status.value}{detail}")

    @classmethod
    def submit(cls, request_id: str, c: cmd.SubmitRequest, now: datetime, rules: Rules) -> "ServiceRequest":
        request = cls()
        category = rules.categories.resolve(c.category)
        request.record(ev.RequestReceived(
            request_id=request_id, customer=ev.Customer(**c.customer.__dict__), channel=c.channel, kind=c.kind,
            category=category, title=c.title, description=c.description, urgency=c.urgency.value,
            impact=c.impact.value, location=c.location, zone=c.zone, owner=c.taken_by, received_at=now,
        ))
        request._triage(c.urgency, c.impact, category, c.kind not in FEEDBACKS_OWN, c.taken_by, None, now, rules)
        return request

    def retriage(self, c: cmd.Retriage, now: datetime, rules: Rules) -> None:
        self._require("triage")
        assert self.triage is not None
        urgency = c.urgency or Level(self.triage.urgency)
        impact = c.impact or Level(self.triage.impact)
        category = rules.categories.resolve(c.category) if c.category else self.triage.category
        if c.dispatch is False and self.triage.dispatch:
            raise InvalidTransition(f"cannot take request {self.id} back from dispatch: its work is dispatch's "
                                    "once sent (withdraw the request to end it)")
        dispatch = self.triage.dispatch if c.dispatch is None else c.dispatch
        self._triage(urgency, impact, category, dispatch, c.by, c.reason, now, rules)

    def _triage(self, urgency: Level, impact: Level, category: str | None, dispatch: bool, by: str,
                reason: str | None, now: datetime, rules: Rules) -> None:
        assert self.received is not None
        priority = prioritise(urgency, impact, rules.matrix)
        # The clocks start when the request was received, whenever it is (re)triaged.
        deadlines = rules.policy.deadlines(priority, category, self.received.received_at)
        self.record(ev.RequestTriaged(
            request_id=self.id, priority=priority.value, urgency=urgency.value, impact=impact.value,
            kind=self.received.kind, channel=self.received.channel, category=category,
            emergency=priority is Priority.P1, zone=self.received.zone or rules.zones.zone_of(self.details.get("location")),
            received_at=self.received.received_at,
            respond_by=deadlines.respond_by, resolve_by=deadlines.resolve_by,
            sla=ev.SlaTargets(policy=rules.policy.name, respond=str(deadlines.target.respond),
                              resolve=str(deadlines.target.resolve), calendar=spec_of(deadlines.calendar)),
            triaged_by=AUTO if by == SELF_SERVICE else by,
            needs_review=by == SELF_SERVICE or category is None, reason=reason, triaged_at=now, dispatch=dispatch,
        ))

    def acknowledge(self, c: cmd.Acknowledge, now: datetime) -> None:
        self._require("acknowledge")
        self._acknowledged(c.by, c.message, now)

    def answered_by_feedback(self, c: cmd.FollowAcknowledgement, now: datetime) -> bool:
        """Feedback acknowledged the complaint it raised for this request: that is the request's
        first response, when it is still owed. False when it changes nothing (another item, already
        answered, or no longer open: e.g. intake's own acknowledgement coming back)."""
        if c.feedback_id != complaint_taken_at_intake(self.id) or self.acknowledged is not None:
            return False
        if not command_allowed("acknowledge", self.status, acknowledged=False):
            return False
        self._acknowledged(c.by, c.note, c.at)
        return True

    def _acknowledged(self, by: str, message: str | None, at: datetime) -> None:
        assert self.triage is not None
        self.record(ev.RequestAcknowledged(
            request_id=self.id, acknowledged_by=by, message=message, acknowledged_at=at,
            respond_by=self.triage.respond_by, within_target=at <= self.triage.respond_by,
        ))

    def confirm_need(self, c: cmd.ConfirmNeed, now: datetime) -> None:
        self._require("confirm the need of")
        self.record(ev.NeedConfirmed(request_id=self.id, confirmed_by=c.by, what=c.what, where=c.where,
                                     when=c.when, note=c.note, confirmed_at=now))

    def update(self, c: cmd.UpdateRequest, now: datetime) -> bool:
        """Records what actually changes; False when nothing does."""
        self._require("update")
        unknown = set(c.fields) - UPDATABLE
        if unknown:
            raise Invalid(sorted(unknown)[0], f"cannot be updated; updatable: {', '.join(sorted(UPDATABLE))}")
        for name in sorted(REQUIRED & set(c.fields)):
            if c.fields[name] is None or not str(c.fields[name]).strip():
                raise Invalid(name, "is required: it can be changed, not removed")
        changed = {k: ev.FieldChange(before=self.details.get(k), after=v)
                   for k, v in c.fields.items() if self.details.get(k) != v}
        if not changed:
            return False
        self.record(ev.RequestUpdated(
            request_id=self.id, changes={k: v for k, v in changed.items() if k not in PERSONAL},
            personal_changes={k: v for k, v in changed.items() if k in PERSONAL},
            updated_by=c.by, reason=c.reason, updated_at=now,
        ))
        return True

    def take_ownership(self, c: cmd.TakeOwnership, now: datetime) -> bool:
        """False when `c.by` already owns it."""
        self._require("take ownership of")
        if c.by == self.owner:
            return False
        self.record(ev.RequestOwnershipTaken(request_id=self.id, owner=c.by, previous_owner=self.owner, taken_at=now))
        return True

    def record_contact(self, c: cmd.RecordContact, now: datetime) -> None:
        self._require("record a contact on")
        self.record(ev.ContactRecorded(request_id=self.id, via=c.via, direction=c.direction, summary=c.summary,
                                       recorded_by=c.by, contacted_at=c.at or now))

    def withdraw(self, c: cmd.Withdraw, now: datetime) -> None:
        self._require("withdraw")
        self.record(ev.RequestWithdrawn(request_id=self.id, reason=c.reason, withdrawn_by=c.by, withdrawn_at=now))

    def merge_into(self, target: "ServiceRequest", c: cmd.Merge, now: datetime) -> None:
        self._require("merge")
        if target.id == self.id:
            raise Invalid("into", "a request cannot be merged into itself")
        if target.status not in OPEN:
            raise InvalidTransition(f"cannot merge into request {target.id}: it is {target.status.value}")
        if target.customer_id != self.customer_id:
            raise Invalid("into", "duplicates are merged only into a request of the same customer")
        self.record(ev.RequestMerged(request_id=self.id, into_request_id=target.id, reason=c.reason,
                                     merged_by=c.by, merged_at=now))

    def reopen(self, c: cmd.Reopen, now: datetime) -> None:
        self._require("reopen")
        self.record(ev.RequestReopened(request_id=self.id, reason=c.reason, reopen_count=self.reopen_count + 1,
                                       rejected_at=c.rejected_at, reopened_at=now))

    def progress(self, c: cmd.FollowFact, now: datetime) -> bool:
        """Follow another service's fact (`lifecycle.FACTS`); False when it changes nothing: the
        request is final, the fact would not move it, or a newer fact already came."""
        if self.status in FINAL or (self.progress_at is not None and c.happened_at < self.progress_at):
            return False
        status = after_fact(c.fact, self.status, self.acknowledged is not None)
        handed_on = c.resource_id is not None and c.resource_id != self.holder  # same state, a new holder
        if status is None and not handed_on:
            return False
        self.record(ev.RequestProgressed(
            request_id=self.id, status=(status or self.status).value, cause=c.cause, cause_id=c.cause_id,
            resource_id=c.resource_id, happened_at=c.happened_at, recorded_at=now))
        return True

    def readable_by_technician(self, resource_id: str) -> bool:
        """A technician reads the requests whose job they hold or held, no others."""
        return resource_id in self.holders

    def when_RequestReceived(self, e: ev.RequestReceived) -> None:
        self.id, self.received, self.owner = e.request_id, e, e.owner
        self.data_subject = e.customer.id
        self.details = {"title": e.title, "description": e.description, "location": e.location,
                        **{f"customer.{k}": v for k, v in e.customer.model_dump().items() if k != "id"}}

    def when_RequestTriaged(self, e: ev.RequestTriaged) -> None:
        self.triage = e
        if self.status is Status.received:
            self.status = Status.triaged

    def when_RequestAcknowledged(self, e: ev.RequestAcknowledged) -> None:
        # Answering a request someone already holds does not take it back from them.
        self.acknowledged = e
        if self.status in (Status.triaged, Status.reopened):
            self.status = Status.acknowledged

    def when_NeedConfirmed(self, e: ev.NeedConfirmed) -> None:
        self.need = e

    def when_RequestUpdated(self, e: ev.RequestUpdated) -> None:
        for name, change in {**e.changes, **e.personal_changes}.items():
            self.details[name] = change.after

    def when_ContactRecorded(self, e: ev.ContactRecorded) -> None:
        self.contacts += 1

    def when_RequestWithdrawn(self, e: ev.RequestWithdrawn) -> None:
        self.status = Status.withdrawn

    def when_RequestMerged(self, e: ev.RequestMerged) -> None:
        self.status, self.merged_into = Status.merged, e.into_request_id

    def when_RequestReopened(self, e: ev.RequestReopened) -> None:
        # Facts from before the reopening no longer count.
        self.status, self.reopen_count, self.progress_at = Status.reopened, e.reopen_count, e.rejected_at

    def when_RequestOwnershipTaken(self, e: ev.RequestOwnershipTaken) -> None:
        self.owner = e.owner

    def when_RequestProgressed(self, e: ev.RequestProgressed) -> None:
        self.status, self.progress_at = Status(e.status), e.happened_at
        if e.resource_id is not None:
            self.holder = e.resource_id
            self.holders.add(e.resource_id)
        elif self.status not in WITH_A_HOLDER and self.status is not Status.resolved:
            self.holder = None  # declined: nobody has it now
