"""Issue 12, symptoms 1 and 2: intake's `status` is the request's lifecycle state, following
dispatch's and feedback's facts (read through their published contracts), and every command the
lifecycle table forbids is a 409 naming the state."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.auth import Role
from shared.contracts import dispatch, feedback
from shared.envelope import Envelope
from shared.events import DomainEvent
from tests.api.conftest import IntakeApi
from tests.support.events import published
from tests.support.kafka import create_topics, produce
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
PROBLEM = "application/problem+json"


def at(minutes: int) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


def dispatch_facts(request_id: str) -> list[Envelope]:
    """A job allocated, started, paused, resumed and resolved, as dispatch publishes them."""
    events: list[DomainEvent] = [
        dispatch.ResourceAllocated(request_id=request_id, resource_id="tech-1", strategy="auto",
                                   allocated_by="dispatch", allocated_at=at(1)),
        dispatch.WorkStarted(request_id=request_id, resource_id="tech-1", started_at=at(2)),
        dispatch.WorkPaused(request_id=request_id, waiting_on="parts", paused_at=at(3)),
        dispatch.WorkResumed(request_id=request_id, resumed_at=at(4)),
        dispatch.IssueResolved(request_id=request_id, resource_id="tech-1", resolution_code="fixed",
                               summary="Replaced the roller", resolved_at=at(5)),
    ]
    return [published(e, version, "job", at(version)) for version, e in enumerate(events, start=2)]


def closed(request_id: str) -> Envelope:
    return published(feedback.RequestClosed(request_id=request_id, how="confirmed", closed_at=at(7)), 3,
                     "closure", at(7))


async def status_of(intake: IntakeApi, request_id: str) -> str:
    return (await intake.get(f"/v1/requests/{request_id}")).json()["status"]


async def listed_status(intake: IntakeApi, request_id: str, customer_id: str) -> str | None:
    items = (await intake.get("/v1/requests", params={"customer_id": customer_id})).json()["items"]
    return next((i["status"] for i in items if i["id"] == request_id), None)


async def test_detail_and_list_say_closed_for_a_request_dispatch_resolved_and_feedback_closed(
        intake: IntakeApi, broker):
    await create_topics(broker.bootstrap, "dispatch.events", "feedback.events")
    created = await intake.created()
    request_id, customer_id = created["id"], created["customer"]["id"]
    facts = dispatch_facts(request_id)
    await produce(broker.bootstrap, "dispatch.events", facts[:1])

    async def is_(state: str) -> bool:
        return await status_of(intake, request_id) == state and await listed_status(
            intake, request_id, customer_id) == state

    await until(lambda: is_("allocated"))
    await produce(broker.bootstrap, "dispatch.events", facts[1:3])
    await until(lambda: is_("paused"))
    await produce(broker.bootstrap, "dispatch.events", facts[3:])
    await until(lambda: is_("resolved"))
    await produce(broker.bootstrap, "feedback.events", [closed(request_id)])
    await until(lambda: is_("closed"))

    for state, expected in (("closed", True), ("allocated", False), ("triaged", False)):
        items = (await intake.get("/v1/requests", params={"customer_id": customer_id, "status": state})).json()
        assert (request_id in [i["id"] for i in items["items"]]) is expected, state


async def test_commands_the_table_forbids_on_a_closed_request_are_409_naming_the_state(intake: IntakeApi, broker):
    await create_topics(broker.bootstrap, "dispatch.events", "feedback.events")
    request_id = (await intake.created())["id"]
    other = await intake.created()
    await produce(broker.bootstrap, "dispatch.events", dispatch_facts(request_id))
    await produce(broker.bootstrap, "feedback.events", [closed(request_id)])
    await until(lambda: _is(intake, request_id, "closed"))

    for action, body in (("triage", {"urgency": "high", "impact": "high", "reason": "worse"}),
                         ("merge", {"into": other["id"], "reason": "duplicate"}),
                         ("withdraw", {"reason": "never mind"}),
                         ("acknowledge", {}),
                         ("need-confirmation", {"what": "a new printer"})):
        response = await intake.command(request_id, action, body)
        assert response.status_code == 409, (action, response.text)
        assert response.headers["content-type"] == PROBLEM and "closed" in response.json()["detail"], action
    patched = await intake.client.patch(f"/v1/requests/{request_id}", json={"title": "New", "reason": "x"},
                                        headers=_agent())
    assert patched.status_code == 409 and "closed" in patched.json()["detail"]
    # A call about a closed request is still recorded.
    contact = await intake.command(request_id, "contacts", {"via": "call", "direction": "inbound",
                                                            "summary": "asked for the invoice"})
    assert contact.status_code == 200, contact.text
    body = (await intake.get(f"/v1/requests/{request_id}")).json()
    assert (body["status"], body["priority"]) == ("closed", "P3")  # the triage above changed nothing


async def test_every_lifecycle_state_filters_and_unknown_values_or_parameters_are_422(intake: IntakeApi):
    for state in ("received", "triaged", "acknowledged", "allocated", "in_progress", "paused", "resolved",
                  "closed", "reopened", "withdrawn", "merged"):
        assert (await intake.get("/v1/requests", params={"status": state})).status_code == 200, state
    bad = await intake.get("/v1/requests", params={"status": "done"})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["status"]
    unknown = await intake.get("/v1/requests", params={"stage": "closed"})
    assert unknown.status_code == 422, unknown.text
    assert [e["field"] for e in unknown.json()["errors"]] == ["stage"]


async def test_a_late_fact_never_takes_the_request_back(intake: IntakeApi, broker, db):
    """The topics keep no order between them: feedback's rejection may overtake dispatch's
    resolution, and an older fact arriving late changes nothing."""
    await create_topics(broker.bootstrap, "dispatch.events", "feedback.events")
    request_id = (await intake.created())["id"]
    facts = dispatch_facts(request_id)
    await produce(broker.bootstrap, "dispatch.events", facts[:2])  # allocated, started
    await until(lambda: _is(intake, request_id, "in_progress"))
    rejected = published(feedback.ResolutionRejected(request_id=request_id, reason="still jams",
                                                     rejected_by="customer", rejected_at=at(6)), 2, "closure", at(6))
    await produce(broker.bootstrap, "feedback.events", [rejected])
    await until(lambda: _is(intake, request_id, "reopened"))
    await produce(broker.bootstrap, "dispatch.events", facts[2:])  # paused .. resolved, all before the rejection
    reallocated = published(dispatch.ResourceAllocated(request_id=request_id, resource_id="tech-1", strategy="auto",
                                                       allocated_by="dispatch", allocated_at=at(8)), 7, "job", at(8))
    await produce(broker.bootstrap, "dispatch.events", [reallocated])
    await until(lambda: _is(intake, request_id, "allocated"))
    async with db.connect() as conn:  # same partition, so the late facts came first: they moved nothing
        stream = await intake.store.read_stream(conn, f"request-{request_id}")
    moves = [e.data.get("status") or e.name for e in stream if e.name in ("RequestProgressed", "RequestReopened")]
    assert moves == ["allocated", "in_progress", "RequestReopened", "allocated"]


async def _is(intake: IntakeApi, request_id: str, state: str) -> bool:
    return await status_of(intake, request_id) == state


def _agent() -> dict[str, str]:
    from tests.support.app import as_role
    return as_role(Role.agent, "agent-1")


async def test_a_technician_reads_the_requests_whose_job_they_hold_or_held_and_no_others(intake: IntakeApi, broker):
    """Symptom 10: intake showed any request, contact details included, to any technician, while
    dispatch answered 404 for the same job."""
    await create_topics(broker.bootstrap, "dispatch.events")
    request_id = (await intake.created())["id"]
    first = published(dispatch.ResourceAllocated(request_id=request_id, resource_id="tech-ann", strategy="auto",
                                                 allocated_by="dispatch", allocated_at=at(1)), 2, "job", at(1))
    await produce(broker.bootstrap, "dispatch.events", [first])
    await until(lambda: _is(intake, request_id, "allocated"))

    async def reads(technician: str) -> int:
        return (await intake.get(f"/v1/requests/{request_id}", Role.technician, technician)).status_code

    assert (await reads("tech-ann"), await reads("tech-bob")) == (200, 404)
    handed_on = published(dispatch.ResourceAllocated(request_id=request_id, resource_id="tech-bob", strategy="manual",
                                                     allocated_by="dispatcher-1", previous_resource_id="tech-ann",
                                                     allocated_at=at(2)), 3, "job", at(2))
    await produce(broker.bootstrap, "dispatch.events", [handed_on])

    async def bob_reads() -> bool:
        return await reads("tech-bob") == 200
    await until(bob_reads)  # the same state, a new holder: still recorded
    assert await reads("tech-ann") == 200  # who held it may still read it
    assert await reads("tech-cyd") == 404
