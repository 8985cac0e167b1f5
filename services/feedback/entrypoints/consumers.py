"""Feedback's reactions: whose request it is (intake), and when the work is resolved (dispatch)."""
from __future__ import annotations

from typing import Awaitable, Callable

from services.feedback.service_layer import handlers
from services.feedback.service_layer.handlers import Feedback
from shared.aggregate import IdSource
from shared.db import Conn
from shared.envelope import Envelope

CONSUMER = "feedback"
TOPICS = ("intake.events", "dispatch.events")
GONE = {"RequestWithdrawn": "withdrawn", "RequestMerged": "merged"}


def follower(f: Feedback) -> Callable[[Conn, Envelope], Awaitable[None]]:
    async def handle(conn: Conn, env: Envelope) -> None:
        ids = IdSource(f"{CONSUMER}:{env.id}")
        if env.name == "RequestReceived":
            await f.tables.note_request(conn, env.subject, customer_id=env.data["customer"]["id"])
        elif env.name == "RequestTriaged":
            await f.tables.note_request(conn, env.subject, priority=env.data["priority"], kind=env.data["kind"])
        elif env.name == "IssueResolved":
            await handlers.on_resolved(conn, f, env.subject, env.data, ids)
        elif env.name in GONE:
            await handlers.on_gone(conn, f, env.subject, GONE[env.name], ids)

    return handle
