"""Dispatch's reactions to intake: open a job for every triaged request, release it when the
request is withdrawn or merged, take it up again when the request is reopened."""
from __future__ import annotations

from typing import Awaitable, Callable

from services.dispatch.service_layer import handlers
from services.dispatch.service_layer.handlers import Dispatch
from shared.aggregate import IdSource
from shared.db import Conn
from shared.envelope import Envelope

CONSUMER = "dispatch"
TOPICS = ("intake.events",)


def intake_follower(d: Dispatch) -> Callable[[Conn, Envelope], Awaitable[None]]:
    async def handle(conn: Conn, env: Envelope) -> None:
        ids = IdSource(f"{CONSUMER}:{env.id}")
        data = env.data
        if env.name == "RequestTriaged":
            await handlers.open_job(conn, {**data, "calendar": data["sla"]["calendar"]}, d, ids)
        elif env.name in ("RequestWithdrawn", "RequestMerged"):
            reason = "withdrawn" if env.name == "RequestWithdrawn" else "merged"
            await handlers.follow_request(conn, env.subject, d, ids, lambda job, now: job.release(reason, now))
        elif env.name == "RequestReopened":
            reason = str(data.get("reason") or "reopened")
            await handlers.follow_request(conn, env.subject, d, ids, lambda job, now: job.reopen(reason, now),
                                          reallocate=True)

    return handle

