"""Dispatch's reactions to other services' events."""
from __future__ import annotations

from services.dispatch.domain.inbound import TriagedRequest
from services.dispatch.service_layer import handlers
from services.dispatch.service_layer.handlers import Dispatch
from shared.aggregate import IdSource
from shared.db import Conn
from shared.envelope import Envelope

CONSUMER = "dispatch"
TOPICS = ("intake.events",)


def intake_handler(dispatch: Dispatch):  # type: ignore[no-untyped-def]
    async def handle(conn: Conn, env: Envelope) -> None:
        if env.name == "RequestTriaged":
            ids = IdSource(f"{CONSUMER}:{env.id}")
            await handlers.open_job(conn, TriagedRequest.model_validate(env.data), dispatch, ids)

    return handle
