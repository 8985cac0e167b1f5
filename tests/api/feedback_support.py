"""Records for feedback's consumer exactly as the producing services publish them (issue 12's
contract tests: never hand-made partial payloads). Intake's come from intake's own aggregate;
dispatch's IssueResolved from its published contract, which dispatch emits from."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Sequence

from services.intake.domain import commands as cmd
from services.intake.domain.model import Rules, ServiceRequest
from services.intake.domain.priority import Level
from shared.contracts import dispatch, intake
from shared.envelope import Envelope, source_of
from shared.events import DomainEvent, EventRegistry
from shared.repository import personal_paths


def published(registry: EventRegistry, events: Sequence[DomainEvent], stream_id: str, first_version: int,
              at: datetime) -> list[Envelope]:
    """The envelopes a service's relay puts on its topic for these events of one stream."""
    return [Envelope(id=str(uuid.uuid4()), source=source_of(registry.service), type=registry.type_of(e),
                     subject=e.subject, time=at, stream_id=stream_id, stream_version=first_version + i,
                     correlation_id=str(uuid.uuid4()), causation_id=None, data=e.model_dump(mode="json"),
                     personal=personal_paths(type(e)))
            for i, e in enumerate(events)]


class IntakeRequest:
    """One request as intake's aggregate records it; `records()` is what it published since last asked."""

    def __init__(self, customer: str, at: datetime, urgency: Level = Level.medium, impact: Level = Level.medium,
                 kind: str = "fault") -> None:
        self.id, self.customer, self.version = str(uuid.uuid4()), customer, 0
        self.aggregate = ServiceRequest.submit(self.id, cmd.SubmitRequest(
            customer=cmd.CustomerDetails(id=customer, name="Ada Lovelace", email="ada@example.com"),
            channel="phone", kind=kind, title="Printer jams", description="The printer jams on every page.",
            urgency=urgency, impact=impact, taken_by="agent-1"), at, Rules())

    def records(self, at: datetime) -> list[Envelope]:
        events = self.aggregate.take_pending()
        envelopes = published(intake.registry, events, f"request-{self.id}", self.version + 1, at)
        self.version += len(events)
        return envelopes

    def acknowledge(self, at: datetime, by: str = "agent-2") -> list[Envelope]:
        self.aggregate.acknowledge(cmd.Acknowledge(self.id, by, "we are on it"), at)
        return self.records(at)

    def send_to_dispatch(self, at: datetime) -> list[Envelope]:
        self.aggregate.retriage(cmd.Retriage(self.id, "agent-2", "it needs a repair too", dispatch=True), at, Rules())
        return self.records(at)

    def withdraw(self, at: datetime) -> list[Envelope]:
        self.aggregate.withdraw(cmd.Withdraw(self.id, self.customer, "it works again"), at)
        return self.records(at)

    def merge_into(self, target: "IntakeRequest", at: datetime) -> list[Envelope]:
        self.aggregate.merge_into(target.aggregate, cmd.Merge(self.id, target.id, "agent-1", "the same fault"), at)
        return self.records(at)


def issue_resolved(request_id: str, at: datetime, code: str = "fixed", summary: str = "new drum fitted") -> Envelope:
    event = dispatch.IssueResolved(request_id=request_id, resource_id="tech-1", resolution_code=code,
                                   summary=summary, resolved_at=at)
    return published(dispatch.registry, [event], f"job-{request_id}", 5, at)[0]
