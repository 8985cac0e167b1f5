"""Intake's reactions to other services' events, read through their published contracts: the
request follows them along its lifecycle (`domain/lifecycle.py`), a rejected resolution reopens it,
and feedback's acknowledgement of the complaint it raised for a request is that request's answer."""
from __future__ import annotations

from services.intake.domain.commands import FollowAcknowledgement, FollowFact, Reopen
from services.intake.domain.lifecycle import FACTS
from services.intake.service_layer.handlers import Intake
from shared.aggregate import IdSource
from shared.contracts import SUBSCRIPTIONS, Reactions, dispatch, feedback
from shared.db import Conn
from shared.envelope import Envelope
from shared.events import DomainEvent

CONSUMER = "intake"
TOPICS = SUBSCRIPTIONS[CONSUMER]
_FOLLOWED: tuple[type[DomainEvent], ...] = (
    dispatch.ResourceAllocated, dispatch.AllocationDeclined, dispatch.WorkStarted, dispatch.WorkPaused,
    dispatch.WorkResumed, dispatch.IssueResolved, feedback.RequestClosed,
)


def stage_follower(intake: Intake) -> Reactions:
    async def follow(conn: Conn, event: DomainEvent, env: Envelope) -> None:
        fact = f"{env.service}.{env.name}"
        assert fact in FACTS, fact
        holder = event.resource_id if isinstance(event, dispatch.ResourceAllocated) else None
        await intake.bus.handle_in(intake.unit_on(conn, IdSource(f"{CONSUMER}:{env.id}")),
                                   FollowFact(event.subject, fact, env.type, env.id, env.time, holder))

    async def rejected(conn: Conn, event: feedback.ResolutionRejected, env: Envelope) -> None:
        reason = event.reason or "the customer rejected the resolution"
        await intake.bus.handle_in(intake.unit_on(conn, IdSource(f"{CONSUMER}:{env.id}")),
                                   Reopen(event.request_id, reason, event.rejected_at))

    async def acknowledged(conn: Conn, event: feedback.FeedbackAcknowledged, env: Envelope) -> None:
        # Only the complaint feedback raised for a request answers it (intake's ack may come back so).
        if event.feedback_id == feedback.complaint_taken_at_intake(event.subject_id):
            await intake.bus.handle_in(intake.unit_on(conn, IdSource(f"{CONSUMER}:{env.id}")), FollowAcknowledgement(
                event.subject_id, event.feedback_id, event.acknowledged_by, event.note, event.acknowledged_at))

    return Reactions({**{cls: follow for cls in _FOLLOWED}, feedback.ResolutionRejected: rejected,
                      feedback.FeedbackAcknowledged: acknowledged})
