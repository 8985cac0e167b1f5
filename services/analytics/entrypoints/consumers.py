"""Analytics consumes every service's events into its archive, which its read models fold."""
from __future__ import annotations

from services.analytics.adapters.archive import Archive
from shared.consumer import Handler
from shared.db import Conn
from shared.envelope import Envelope

CONSUMER = "analytics"
TOPICS = ("intake.events", "dispatch.events", "feedback.events")


def archiver(archive: Archive) -> Handler:
    async def handle(conn: Conn, env: Envelope) -> None:
        await archive.record(conn, env)

    return handle
