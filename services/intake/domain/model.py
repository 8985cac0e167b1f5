"""The service request aggregate: what intake knows of one customer need."""
from __future__ import annotations

from datetime import datetime

from services.intake.domain import events as ev
from services.intake.domain.commands import SubmitRequest
from services.intake.domain.priority import DEFAULT_POLICY, Level, Priority, SlaPolicy, prioritise
from shared.aggregate import Aggregate


class ServiceRequest(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.id = ""
        self.status = "new"
        self.received: ev.RequestReceived | None = None
        self.triage: ev.RequestTriaged | None = None

    @classmethod
    def submit(
        cls, request_id: str, cmd: SubmitRequest, now: datetime, policy: SlaPolicy = DEFAULT_POLICY
    ) -> "ServiceRequest":
        request = cls()
        request.record(
            ev.RequestReceived(
                request_id=request_id,
                customer=ev.Customer(**cmd.customer.__dict__),
                channel=cmd.channel,
                kind=cmd.kind,
                category=cmd.category,
                title=cmd.title,
                description=cmd.description,
                urgency=cmd.urgency.value,
                impact=cmd.impact.value,
                location=cmd.location,
                owner=cmd.taken_by,
                received_at=now,
            )
        )
        request._triage(now, policy)
        return request

    def _triage(self, now: datetime, policy: SlaPolicy) -> None:
        assert self.received is not None
        priority = prioritise(Level(self.received.urgency), Level(self.received.impact))
        target = policy.target(priority)
        self.record(
            ev.RequestTriaged(
                request_id=self.id,
                priority=priority.value,
                kind=self.received.kind,
                channel=self.received.channel,
                category=self.received.category,
                emergency=priority is Priority.P1,
                respond_by=now + target.respond,
                resolve_by=now + target.resolve,
                sla=ev.SlaTargets(
                    policy=policy.name,
                    calendar=policy.calendar,
                    respond_minutes=int(target.respond.total_seconds() // 60),
                    resolve_minutes=int(target.resolve.total_seconds() // 60),
                ),
            )
        )

    def when_RequestReceived(self, event: ev.RequestReceived) -> None:
        self.id, self.received, self.status = event.request_id, event, "received"

    def when_RequestTriaged(self, event: ev.RequestTriaged) -> None:
        self.triage, self.status = event, "triaged"
