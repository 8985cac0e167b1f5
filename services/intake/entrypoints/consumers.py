"""Intake's reactions to other services' events, read through their published contracts: where
the request stands, and reopening it when the customer rejects the resolution."""
from __future__ import annotations

from services.intake.domain.commands import Reopen
from services.intake.service_layer import handlers
from services.intake.service_layer.handlers import Intake
from shared.aggregate import IdSource
from shared.contracts import Reactions, dispatch, feedback
from shared.db import Conn
from shared.envelope import Envelope
from shared.events import DomainEvent

CONSUMER = "intake"
TOPICS = ("dispatch.events", "feedback.events")
STAGES: dict[type[DomainEvent], str] = {
    dispatch.ResourceAllocated: "allocated", dispatch.WorkStarted: "in_progress", dispatch.WorkPaused: "paused",
    dispatch.WorkResumed: "in_progress", dispatch.IssueResolved: "resolved",
    feedback.ResolutionConfirmed: "confirmed", feedback.ResolutionRejected: "reopened",
    feedback.RequestClosed: "closed",
}


def stage_follower(intake: Intake) -> Reactions:
    async def stage(conn: Conn, event: DomainEvent, env: Envelope) -> None:
        await intake.queries.set_stage(conn, event.subject, STAGES[type(event)], env.time)

    async def rejected(conn: Conn, event: feedback.ResolutionRejected, env: Envelope) -> None:
        reason = event.reason or "the customer rejected the resolution"
        await handlers.reopen(conn, Reopen(event.request_id, reason), intake, IdSource(f"{CONSUMER}:{env.id}"))
        await stage(conn, event, env)

    return Reactions({**{cls: stage for cls in STAGES}, feedback.ResolutionRejected: rejected})
