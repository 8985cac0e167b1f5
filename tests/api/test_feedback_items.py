"""Issue 12 over HTTP: a feedback item follows its documented flow (symptom 8); an item reads with
its text and outcome, by the customer who gave it too, and an improvement action reads (symptom 11)."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.auth import Role
from tests.api.conftest import MONDAY_10
from tests.support.app import as_role

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
DESK = as_role(Role.agent, "desk-1")
STEPS = {"acknowledge": {"note": "on it"}, "investigate": {"findings": "the van broke down"},
         "resolve": {"outcome": "apologised and rebooked"}}


async def given(client, kind: str = "complaint", customer: str | None = None) -> tuple[str, str]:  # noqa: ANN001
    customer = customer or f"cust-{uuid.uuid4().hex[:8]}"
    made = await client.post("/v1/feedback", json={"kind": kind, "text": "nobody came on Tuesday"},
                             headers=as_role(Role.customer, customer))
    assert made.status_code == 201, made.text
    return made.json()["id"], customer


async def step(client, item_id: str, command: str):  # noqa: ANN001, ANN201
    return await client.post(f"/v1/feedback/{item_id}/{command}", json=STEPS[command], headers=DESK)


async def test_resolving_straight_from_open_is_a_409_naming_the_state_and_the_flow_goes_on(feedback, broker):
    """The issue's reproduction: /resolve from open answered 200, then /acknowledge said 'acknowledged'."""
    app, client, _ = feedback
    item_id, _ = await given(client)
    for command in ("resolve", "investigate"):
        early = await step(client, item_id, command)
        assert early.status_code == 409, early.text
        assert early.headers["content-type"].startswith("application/problem+json")
        assert f"cannot {command} feedback {item_id}: it is open" in early.json()["detail"]
    assert (await step(client, item_id, "acknowledge")).json()["status"] == "acknowledged"
    resolved = await step(client, item_id, "resolve")  # investigating is optional
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved", resolved.text
    for command in STEPS:  # nothing follows a resolution
        late = await step(client, item_id, command)
        assert late.status_code == 409 and "it is resolved" in late.json()["detail"], late.text
    d = app.state.feedback
    async with d.db.connect() as conn:
        names = [e.name for e in await d.items.store.read_stream(conn, f"feedback-{item_id}")]
    assert names == ["FeedbackReceived", "FeedbackAcknowledged", "FeedbackResolved"]


async def test_findings_may_be_added_while_investigating_and_a_retried_step_is_not_a_conflict(feedback, broker):
    _, client, _ = feedback
    item_id, _ = await given(client, "suggestion")
    await step(client, item_id, "acknowledge")
    for _ in range(2):
        assert (await step(client, item_id, "investigate")).json()["status"] == "investigating"
    key = {**DESK, "Idempotency-Key": f"resolve-{item_id}"}
    first = await client.post(f"/v1/feedback/{item_id}/resolve", json=STEPS["resolve"], headers=key)
    again = await client.post(f"/v1/feedback/{item_id}/resolve", json=STEPS["resolve"], headers=key)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()


async def test_an_item_reads_with_its_text_and_outcome_and_its_customer_may_read_it(feedback, broker):
    _, client, clock = feedback
    item_id, customer = await given(client)
    mine = await client.get(f"/v1/feedback/{item_id}", headers=as_role(Role.customer, customer))
    assert mine.status_code == 200, mine.text
    assert mine.json()["text"] == "nobody came on Tuesday" and mine.json()["outcome"] is None
    stranger = await client.get(f"/v1/feedback/{item_id}", headers=as_role(Role.customer, "cust-stranger"))
    assert stranger.status_code == 404 and stranger.json()["detail"] == f"no feedback {item_id!r}"
    await step(client, item_id, "acknowledge")
    clock.set(MONDAY_10 + timedelta(hours=2))
    await step(client, item_id, "resolve")
    clock.set(MONDAY_10)
    for headers in (DESK, as_role(Role.customer, customer), as_role(Role.admin)):
        read = (await client.get(f"/v1/feedback/{item_id}", headers=headers)).json()
        assert (read["text"], read["outcome"], read["status"]) == (
            "nobody came on Tuesday", "apologised and rebooked", "resolved")
        assert read["resolved_at"] == "2026-03-02T12:00:00Z" and read["within_deadline"] is True
    for role in (Role.technician, Role.dispatcher, Role.analyst):
        assert (await client.get(f"/v1/feedback/{item_id}", headers=as_role(role))).status_code == 403


async def test_an_improvement_action_reads_with_its_plan_and_each_step(feedback, broker):
    _, client, _ = feedback
    item_id, _ = await given(client, "suggestion")
    due = (MONDAY_10 + timedelta(days=30)).isoformat()
    opened = await client.post("/v1/actions", headers=DESK, json={
        "title": "SMS updates", "plan": "send an SMS at each step", "owner": "lead-1", "due_at": due,
        "answers": [item_id]})
    action_id = opened.json()["id"]
    await client.post(f"/v1/actions/{action_id}/progress", headers=DESK, json={"stage": "do", "note": "pilot"})
    read = await client.get(f"/v1/actions/{action_id}", headers=DESK)
    assert read.status_code == 200, read.text
    action = read.json()
    assert {k: action[k] for k in ("title", "plan", "stage", "owner", "answers", "opened_by")} == {
        "title": "SMS updates", "plan": "send an SMS at each step", "stage": "do", "owner": "lead-1",
        "answers": [item_id], "opened_by": "desk-1"}
    assert [(s["stage"], s["note"], s["by"]) for s in action["history"]] == [("do", "pilot", "desk-1")]
    assert (await client.get("/v1/actions/no-such-action", headers=DESK)).status_code == 404
    for role in (Role.customer, Role.technician):
        assert (await client.get(f"/v1/actions/{action_id}", headers=as_role(role))).status_code == 403
