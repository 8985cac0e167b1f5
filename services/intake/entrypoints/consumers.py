"""Intake's reactions to other services' events: where the request stands, and reopening."""
from __future__ import annotations

from typing import Awaitable, Callable

from services.intake.domain.commands import Reopen
from services.intake.service_layer import handlers
from services.intake.service_layer.handlers import Intake
from shared.aggregate import IdSource
from shared.db import Conn
from shared.envelope import Envelope

CONSUMER = "intake"
TOPICS = ("dispatch.events", "feedback.events")
STAGES = {
    "ResourceAllocated": "allocated", "WorkStarted": "in_progress", "WorkPaused": "paused",
    "WorkResumed": "in_progress", "IssueResolved": "resolved", "ResolutionConfirmed": "confirmed",
    "ResolutionRejected": "reopened", "RequestClosed": "closed",
}


def stage_follower(intake: Intake) -> Callable[[Conn, Envelope], Awaitable[None]]:
    async def handle(conn: Conn, env: Envelope) -> None:
        if env.name == "ResolutionRejected":
            reason = str(env.data.get("reason") or "the customer rejected the resolution")
            await handlers.reopen(conn, Reopen(env.subject, reason), intake, IdSource(f"{CONSUMER}:{env.id}"))
        if env.name in STAGES:
            await intake.queries.set_stage(conn, env.subject, STAGES[env.name], env.time)

    return handle
