"""Feedback's reactions to other services' facts, read through their published contracts: whose
request it is and what it is (intake; a request taken as a complaint becomes feedback's complaint,
acknowledged with the request), when the work is resolved (dispatch), and requests that end
without a resolution (withdrawn, merged). Facts about a request are noted in its row; those
that move a closure are commands, run in a unit joined to the consumer's transaction (which
records the event as applied in the same commit)."""
from __future__ import annotations

from services.feedback.domain import commands as cmd
from services.feedback.service_layer.feedback import Feedback
from shared.aggregate import IdSource
from shared.contracts import SUBSCRIPTIONS, Reactions, dispatch, intake
from shared.db import Conn
from shared.envelope import Envelope
from shared.shredding.crypto import ERASED

CONSUMER = "feedback"
TOPICS = SUBSCRIPTIONS[CONSUMER]


def _ids(env: Envelope) -> IdSource:
    """Ids derived from the event's: a redelivered event records the same facts, never twice."""
    return IdSource(f"{CONSUMER}:{env.id}")


def follower(f: Feedback) -> Reactions:
    async def received(conn: Conn, event: intake.RequestReceived, env: Envelope) -> None:
        await f.tables.note_request(conn, event.request_id, customer_id=event.customer.id)
        if event.kind == "complaint":  # taken at the desk: feedback's complaint to handle
            # What the customer wrote comes sealed (intake's key for them): opened to be the
            # complaint's text, which feedback seals again under the same customer's key.
            title, description = (await f.keys.open([event.title, event.description]))[0]
            text = ERASED if ERASED in (title, description) else f"{title}\n\n{description}"
            await f.bus.handle_in(f.unit_on(conn, _ids(env)), cmd.RaiseComplaint(
                event.request_id, event.customer.id, text, event.received_at))

    async def triaged(conn: Conn, event: intake.RequestTriaged, env: Envelope) -> None:
        # The newest triage decides whether closing it calls for a call-back (priority, kind), and
        # whether a complaint's outcome ends the request (dispatch does not work it).
        await f.tables.note_request(conn, event.request_id, priority=event.priority, kind=event.kind,
                                    dispatched=event.dispatch)

    async def acknowledged(conn: Conn, event: intake.RequestAcknowledged, env: Envelope) -> None:
        await f.bus.handle_in(f.unit_on(conn, _ids(env)), cmd.AcknowledgeRaisedComplaint(
            event.request_id, event.acknowledged_by, event.message, event.acknowledged_at))

    async def resolved(conn: Conn, event: dispatch.IssueResolved, env: Envelope) -> None:
        await f.bus.handle_in(f.unit_on(conn, _ids(env)),
                              cmd.RequestConfirmation(event.request_id, event.resolution_code, event.summary))

    async def withdrawn(conn: Conn, event: intake.RequestWithdrawn, env: Envelope) -> None:
        await f.bus.handle_in(f.unit_on(conn, _ids(env)), cmd.CloseWithoutSurvey(event.request_id, "withdrawn"))

    async def merged(conn: Conn, event: intake.RequestMerged, env: Envelope) -> None:
        await f.bus.handle_in(f.unit_on(conn, _ids(env)), cmd.CloseWithoutSurvey(event.request_id, "merged"))

    return Reactions({intake.RequestReceived: received, intake.RequestTriaged: triaged,
                      intake.RequestAcknowledged: acknowledged,
                      dispatch.IssueResolved: resolved, intake.RequestWithdrawn: withdrawn,
                      intake.RequestMerged: merged})
