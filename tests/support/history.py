"""Crafted service histories: real event classes in real envelopes, as the services would publish them.

A `History` numbers each stream as its service would; a `Journey` tells one request's story in
the lifecycle's own words. The events are validated by the services' own event classes, so a
crafted history cannot drift from what the services really publish.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from shared.calendar import BusinessCalendar
from shared.contracts import dispatch as dispatch
from shared.contracts import feedback as feedback
from shared.contracts import intake as intake
from shared.envelope import Envelope, source_of
from shared.events import DomainEvent
from shared.repository import personal_paths

REGISTRIES = {"intake": intake.registry, "dispatch": dispatch.registry, "feedback": feedback.registry}


class History:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self._versions: dict[str, int] = defaultdict(int)

    def record(self, service: str, stream: str, event: DomainEvent, at: datetime) -> Envelope:
        self._versions[stream] += 1
        env = Envelope(
            id=str(uuid.uuid4()), source=source_of(service), type=REGISTRIES[service].type_of(event),
            subject=event.subject, time=at, stream_id=stream, stream_version=self._versions[stream],
            correlation_id=str(uuid.uuid4()), causation_id=None, data=event.model_dump(mode="json"),
            personal=personal_paths(type(event)),
        )
        self.envelopes.append(env)
        return env

    def by_topic(self, prefix: str = "", since: int = 0) -> dict[str, list[Envelope]]:
        topics: dict[str, list[Envelope]] = defaultdict(list)
        for env in self.envelopes[since:]:
            topics[f"{prefix}{env.service}.events"].append(env)
        return topics

    def resource(self, resource_id: str, at: datetime, *, team: str | None = None, capacity: int = 1,
                 name: str | None = None) -> None:
        self.record("dispatch", f"resource-{resource_id}", dispatch.ResourceRegistered(
            resource_id=resource_id, name=name or resource_id, kind="person", skills={"general": 3},
            capacity=capacity, team=team, registered_by="test", registered_at=at), at)

    def feedback(self, feedback_id: str, kind: str, at: datetime, respond_by: datetime,
                 request_id: str | None = None, via: str = "feedback") -> None:
        self.record("feedback", f"feedback-{feedback_id}", feedback.FeedbackReceived(
            feedback_id=feedback_id, subject_id=request_id or feedback_id, kind=kind, request_id=request_id,
            text="The engineer was rude.", given_by="cust-1", respond_by=respond_by, received_at=at, via=via), at)

    def feedback_resolved(self, feedback_id: str, at: datetime, within_deadline: bool,
                          request_id: str | None = None) -> None:
        self.record("feedback", f"feedback-{feedback_id}", feedback.FeedbackResolved(
            feedback_id=feedback_id, subject_id=request_id or feedback_id, outcome="apologised",
            resolved_by="agent-1", within_deadline=within_deadline, resolved_at=at), at)


class Journey:
    """One request's history, told step by step; every step records the event its service would."""

    def __init__(self, history: History, request_id: str) -> None:
        self.h, self.id = history, request_id

    def _intake(self, event: DomainEvent, at: datetime) -> Journey:
        self.h.record("intake", f"request-{self.id}", event, at)
        return self

    def _dispatch(self, event: DomainEvent, at: datetime) -> Journey:
        self.h.record("dispatch", f"job-{self.id}", event, at)
        return self

    def _feedback(self, event: DomainEvent, at: datetime) -> Journey:
        self.h.record("feedback", f"closure-{self.id}", event, at)
        return self

    def received(self, at: datetime, *, channel: str = "phone", kind: str = "fault", category: str = "it > printer",
                 owner: str = "agent-1") -> Journey:
        customer = intake.Customer(id="cust-1", name="Ada Lovelace", email="ada@example.com")
        return self._intake(intake.RequestReceived(
            request_id=self.id, customer=customer, channel=channel, kind=kind, category=category, title="Broken",
            description="It is broken.", urgency="medium", impact="medium", location="Floor 2", owner=owner,
            received_at=at), at)

    def triaged(self, at: datetime, *, priority: str, respond_by: datetime, resolve_by: datetime,
                received_at: datetime, channel: str = "phone", kind: str = "fault",
                category: str = "it > printer") -> Journey:
        # A calendar as intake writes one: its read model reckons the response's risk on it.
        sla = intake.SlaTargets(policy="default", respond="4h", resolve="1 business day",
                                calendar=BusinessCalendar.always_open().to_spec())
        return self._intake(intake.RequestTriaged(
            request_id=self.id, priority=priority, urgency="medium", impact="medium", kind=kind, channel=channel,
            category=category, emergency=priority == "P1", received_at=received_at, respond_by=respond_by,
            resolve_by=resolve_by, sla=sla, triaged_by="agent-1", needs_review=False, triaged_at=at), at)

    def acknowledged(self, at: datetime, *, respond_by: datetime, within_target: bool) -> Journey:
        return self._intake(intake.RequestAcknowledged(
            request_id=self.id, acknowledged_by="agent-1", acknowledged_at=at, respond_by=respond_by,
            within_target=within_target), at)

    def withdrawn(self, at: datetime) -> Journey:
        return self._intake(intake.RequestWithdrawn(request_id=self.id, reason="not needed", withdrawn_by="cust-1",
                                                    withdrawn_at=at), at)

    def merged(self, at: datetime, into: str) -> Journey:
        return self._intake(intake.RequestMerged(request_id=self.id, into_request_id=into, reason="duplicate",
                                                 merged_by="agent-1", merged_at=at), at)

    def reopened(self, at: datetime, count: int) -> Journey:
        return self._intake(intake.RequestReopened(request_id=self.id, reason="still broken", reopen_count=count,
                                                   rejected_at=at, reopened_at=at), at)

    def allocated(self, at: datetime, resource_id: str, previous: str | None = None) -> Journey:
        return self._dispatch(dispatch.ResourceAllocated(
            request_id=self.id, resource_id=resource_id, strategy="best_score", allocated_by="dispatch",
            previous_resource_id=previous, allocated_at=at), at)

    def started(self, at: datetime, resource_id: str) -> Journey:
        return self._dispatch(dispatch.WorkStarted(request_id=self.id, resource_id=resource_id, started_at=at), at)

    def paused(self, at: datetime) -> Journey:
        return self._dispatch(dispatch.WorkPaused(request_id=self.id, waiting_on="customer", paused_at=at), at)

    def resumed(self, at: datetime) -> Journey:
        return self._dispatch(dispatch.WorkResumed(request_id=self.id, resumed_at=at), at)

    def resolved(self, at: datetime, resource_id: str) -> Journey:
        return self._dispatch(dispatch.IssueResolved(request_id=self.id, resource_id=resource_id,
                                                     resolution_code="fixed", summary="Fixed.", resolved_at=at), at)

    def warned(self, at: datetime, clock: str) -> Journey:
        return self._dispatch(dispatch.SlaWarning(request_id=self.id, clock=clock, deadline=at + timedelta(hours=1),
                                                  warned_at=at), at)

    def breached(self, at: datetime, clock: str) -> Journey:
        return self._dispatch(dispatch.SlaBreached(request_id=self.id, clock=clock, deadline=at, breached_at=at), at)

    def escalated(self, at: datetime, level: str = "team_lead") -> Journey:
        return self._dispatch(dispatch.JobEscalated(request_id=self.id, level=level, trigger="sla_breach",
                                                    reason="late", escalated_by="dispatch", escalated_at=at), at)

    def confirmed(self, at: datetime) -> Journey:
        return self._feedback(feedback.ResolutionConfirmed(request_id=self.id, confirmed_by="cust-1",
                                                           confirmed_at=at), at)

    def rejected(self, at: datetime) -> Journey:
        return self._feedback(feedback.ResolutionRejected(request_id=self.id, reason="still broken",
                                                          rejected_by="cust-1", rejected_at=at), at)

    def closed(self, at: datetime, how: str = "confirmed") -> Journey:
        return self._feedback(feedback.RequestClosed(request_id=self.id, how=how, closed_at=at), at)

    def surveyed(self, at: datetime, csat: int, nps: int | None = None, **dimensions: Any) -> Journey:
        return self._feedback(feedback.SurveyReturned(request_id=self.id, survey_id=f"s-{self.id}", csat=csat,
                                                      nps=nps, dimensions=dimensions, comment="Thanks",
                                                      returned_at=at), at)
