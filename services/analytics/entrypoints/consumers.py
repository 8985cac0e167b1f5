"""Analytics consumes every service's events into its read models."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.analytics.adapters.timeline import TimelineStore
from shared.envelope import Envelope

CONSUMER = "analytics"
TOPICS = ("intake.events", "dispatch.events", "feedback.events")


def projector(timeline: TimelineStore):  # type: ignore[no-untyped-def]
    async def handle(conn: AsyncConnection, env: Envelope) -> None:
        await timeline.add(conn, env)

    return handle
