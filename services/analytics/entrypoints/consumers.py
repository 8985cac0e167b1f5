"""Analytics consumes every service's events into its read models."""
from __future__ import annotations

from services.analytics.adapters.timeline import TimelineStore
from shared.db import Conn
from shared.envelope import Envelope

CONSUMER = "analytics"
TOPICS = ("intake.events", "dispatch.events", "feedback.events")


def projector(timeline: TimelineStore):  # type: ignore[no-untyped-def]
    async def handle(conn: Conn, env: Envelope) -> None:
        await timeline.add(conn, env)

    return handle
