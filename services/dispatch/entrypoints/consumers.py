"""Dispatch's reactions to intake, read through intake's published contracts: open a job for every
triaged request intake sends to dispatch (a complaint only once the desk does), follow every
re-triage, stop its response clock at intake's acknowledgement
(or when the request closes unanswered), release it when the request is withdrawn or merged, take
it up again when the request is reopened (back to who resolved it, when they can take it)."""
from __future__ import annotations

from services.dispatch.domain import commands as cmd
from services.dispatch.service_layer.handlers import Dispatch
from shared.aggregate import IdSource
from shared.contracts import SUBSCRIPTIONS, Reactions, intake
from shared.db import Conn
from shared.envelope import Envelope

CONSUMER = "dispatch"
TOPICS = SUBSCRIPTIONS[CONSUMER]


def ids_for(env: Envelope) -> IdSource:
    # Seeded by the record, so a redelivered record repeats the same event ids (stored once).
    return IdSource(f"{CONSUMER}:{env.id}")


def intake_follower(d: Dispatch) -> Reactions:
    async def send(conn: Conn, env: Envelope, command: object) -> None:
        await d.bus.handle_in(d.unit_on(conn, ids_for(env)), command)

    async def triaged(conn: Conn, event: intake.RequestTriaged, env: Envelope) -> None:
        await send(conn, env, cmd.OpenJob(event))

    async def withdrawn(conn: Conn, event: intake.RequestWithdrawn, env: Envelope) -> None:
        await send(conn, env, cmd.ReleaseJob(event.request_id, "withdrawn"))

    async def merged(conn: Conn, event: intake.RequestMerged, env: Envelope) -> None:
        await send(conn, env, cmd.ReleaseJob(event.request_id, "merged"))

    async def reopened(conn: Conn, event: intake.RequestReopened, env: Envelope) -> None:
        await send(conn, env, cmd.ReopenJob(event))

    async def acknowledged(conn: Conn, event: intake.RequestAcknowledged, env: Envelope) -> None:
        await send(conn, env, cmd.RecordResponse(event.request_id, event.acknowledged_at))

    async def progressed(conn: Conn, event: intake.RequestProgressed, env: Envelope) -> None:
        # Of the lifecycle intake follows, only the end matters here: a closed request owes no response.
        if event.status == "closed":
            await send(conn, env, cmd.CloseUnanswered(event.request_id, event.happened_at))

    return Reactions({intake.RequestTriaged: triaged, intake.RequestAcknowledged: acknowledged,
                      intake.RequestWithdrawn: withdrawn, intake.RequestMerged: merged,
                      intake.RequestReopened: reopened, intake.RequestProgressed: progressed})
