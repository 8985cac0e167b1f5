"""Issue 12, symptom 7: a complaint taken at intake becomes feedback's complaint, with its deadline.

Intake's records come from intake's own aggregate (tests/api/feedback_support.py) through the
real broker into feedback's consumer; the answers are read over feedback's HTTP API.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from shared.auth import Role
from shared.contracts.feedback import complaint_taken_at_intake
from tests.api.conftest import MONDAY_10
from tests.api.feedback_support import IntakeRequest
from tests.support.app import as_role
from tests.support.kafka import produce
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def item_of(client: Any, request_id: str) -> dict[str, Any] | None:  # noqa: ANN401
    r = await client.get(f"/v1/feedback/{complaint_taken_at_intake(request_id)}", headers=as_role(Role.agent))
    return r.json() if r.status_code == 200 else None


async def taken(broker: Any, **kw: Any) -> IntakeRequest:  # noqa: ANN401
    request = IntakeRequest(f"cust-{uuid.uuid4().hex[:8]}", MONDAY_10, kind="complaint", **kw)
    records = request.records(MONDAY_10)
    await produce(broker.bootstrap, "intake.events", [*records, *records])  # delivered twice: one item
    return request


async def resolved_once_acknowledged(client: Any, request_id: str, outcome: str) -> None:  # noqa: ANN401
    """Wait for intake's acknowledgement to reach the complaint, then resolve it at feedback."""
    async def acknowledged() -> bool:
        return (item := await item_of(client, request_id)) is not None and item["status"] == "acknowledged"

    await until(acknowledged, timeout=30)
    resolved = await client.post(f"/v1/feedback/{complaint_taken_at_intake(request_id)}/resolve",
                                 json={"outcome": outcome}, headers=as_role(Role.agent))
    assert resolved.status_code == 200, resolved.text


async def test_a_complaint_taken_at_intake_is_a_complaint_with_its_deadline_counted_once(feedback, broker):
    app, client, _ = feedback
    request = await taken(broker)

    async def raised() -> bool:
        return await item_of(client, request.id) is not None

    await until(raised, timeout=30)
    item = await item_of(client, request.id)
    assert (item["kind"], item["request_id"], item["status"], item["via"]) == ("complaint", request.id, "open", "intake")
    assert item["respond_by"] == "2026-03-03T10:00:00Z"  # 24 h from when intake received it
    assert "Printer jams" in item["text"]
    queue = (await client.get("/v1/queues/complaints", headers=as_role(Role.agent))).json()
    assert [q["id"] for q in queue if q["request_id"] == request.id] == [item["id"]]
    mine = await client.get(f"/v1/feedback/{item['id']}", headers=as_role(Role.customer, request.customer))
    assert mine.status_code == 200  # the customer who complained reads it


async def test_intakes_acknowledgement_answers_the_complaint_and_its_outcome_closes_the_request(feedback, broker):
    app, client, _ = feedback
    request = await taken(broker)
    await produce(broker.bootstrap, "intake.events", request.acknowledge(MONDAY_10 + timedelta(minutes=5)))
    await resolved_once_acknowledged(client, request.id, "apologised; coached the clerk")
    closure = await client.get(f"/v1/requests/{request.id}/closure", headers=as_role(Role.agent))
    assert closure.json()["status"] == "closed"  # nothing was dispatched: the outcome ends the request
    d = app.state.feedback
    async with d.db.connect() as conn:
        (closed,) = await d.closures.store.read_stream(conn, f"closure-{request.id}")
    assert (closed.name, closed.data["how"]) == ("RequestClosed", "complaint_resolved")


async def test_a_complaint_the_desk_sent_to_dispatch_is_closed_by_its_work_not_by_the_outcome(feedback, broker):
    app, client, _ = feedback
    request = await taken(broker)
    await produce(broker.bootstrap, "intake.events",
                  [*request.acknowledge(MONDAY_10), *request.send_to_dispatch(MONDAY_10 + timedelta(minutes=1))])
    d = app.state.feedback

    async def noted() -> bool:  # the triage that sent it to dispatch came after the acknowledgement
        async with d.db.connect() as conn:
            return (await d.tables.request_facts(conn, request.id)).get("dispatched") is True

    await until(noted, timeout=30)
    await resolved_once_acknowledged(client, request.id, "refund agreed")
    closure = await client.get(f"/v1/requests/{request.id}/closure", headers=as_role(Role.agent))
    assert closure.status_code == 404 or closure.json()["status"] == "open"


async def test_a_complaint_withdrawn_with_its_request_leaves_the_queue_and_never_escalates(feedback, broker):
    app, client, clock = feedback
    request = await taken(broker)
    await produce(broker.bootstrap, "intake.events", request.withdraw(MONDAY_10 + timedelta(minutes=5)))

    async def withdrawn() -> bool:
        return (item := await item_of(client, request.id)) is not None and item["status"] == "withdrawn"

    await until(withdrawn, timeout=30)
    queue = (await client.get("/v1/queues/complaints", headers=as_role(Role.agent))).json()
    assert request.id not in [q["request_id"] for q in queue]
    clock.set(MONDAY_10 + timedelta(hours=25))
    try:
        await app.state.closer.run_once()
        assert (await item_of(client, request.id))["escalated"] is False
    finally:
        clock.set(MONDAY_10)
