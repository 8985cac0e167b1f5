"""Issue 12, symptom 7, end to end: a complaint taken at the desk, through the four real services.

At every step, intake (the lifecycle), dispatch (no job, until the desk sends one), feedback (the
complaint it raised) and analytics (the archive, and the complaints report) say the same.
"""
from __future__ import annotations

import time
from typing import Any

import pytest

from shared.auth import Role
from shared.contracts.feedback import complaint_taken_at_intake
from tests.e2e.conftest import Stack
from tests.e2e.test_thin_journey import archived, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


def complaint(customer_id: str) -> dict[str, Any]:
    return {"customer": {"id": customer_id, "name": "Grace Hopper"}, "channel": "walk_in", "kind": "complaint",
            "category": "complaint > staff", "title": "Nobody listened at the counter",
            "description": "I waited 40 minutes and was sent away.", "urgency": "medium", "impact": "low"}


def test_a_complaint_taken_at_the_desk_is_feedbacks_to_handle_and_counted_once(stack: Stack):
    customer_id = f"cust-{time.monotonic_ns()}"
    agent, desk = stack.client("intake", Role.agent, "agent-3"), stack.client("feedback", Role.agent, "agent-3")
    dispatcher, analyst = stack.client("dispatch", Role.dispatcher), stack.client("analytics", Role.analyst)
    created = agent.post("/v1/requests", json=complaint(customer_id))
    assert created.status_code == 201, created.text
    request = created.json()
    request_id, item_id = request["id"], complaint_taken_at_intake(request["id"])
    assert (request["status"], request["dispatch"]) == ("triaged", False)

    # Received: feedback raised the complaint with its 24 h deadline; the archive has it; no job.
    item = eventually(lambda: desk.get(f"/v1/feedback/{item_id}"), lambda r: r.status_code == 200)
    assert (item["kind"], item["request_id"], item["via"], item["status"]) == ("complaint", request_id, "intake", "open")
    assert item["received_at"] == request["received_at"]
    for fact in ("RequestReceived", "RequestTriaged", "FeedbackReceived"):
        archived(analyst, request_id, fact)
    assert dispatcher.get(f"/v1/jobs/{request_id}").status_code == 404

    # Acknowledged once, at intake: the complaint is acknowledged with it.
    assert agent.post(f"/v1/requests/{request_id}/acknowledge", json={"message": "We are sorry"}).status_code == 200
    eventually(lambda: desk.get(f"/v1/feedback/{item_id}"), lambda r: r.json()["status"] == "acknowledged")
    assert agent.get(f"/v1/requests/{request_id}").json()["status"] == "acknowledged"
    for fact in ("RequestAcknowledged", "FeedbackAcknowledged"):
        archived(analyst, request_id, fact)
    assert desk.post(f"/v1/feedback/{item_id}/acknowledge").status_code == 409  # answered already

    # Resolved at feedback: the outcome ends the request everywhere, and no job ever opened.
    resolved = desk.post(f"/v1/feedback/{item_id}/resolve", json={"outcome": "apologised; the clerk is coached"})
    assert resolved.status_code == 200 and resolved.json()["within_deadline"] is True, resolved.text
    closure = desk.get(f"/v1/requests/{request_id}/closure").json()
    assert closure["status"] == "closed"
    eventually(lambda: agent.get(f"/v1/requests/{request_id}"), lambda r: r.json()["status"] == "closed")
    for fact in ("FeedbackResolved", "RequestClosed"):
        archived(analyst, request_id, fact)
    assert dispatcher.get(f"/v1/jobs/{request_id}").status_code == 404
    timeline = analyst.get(f"/v1/requests/{request_id}/timeline").json()
    assert not [e for e in timeline["events"] if e["name"].startswith("Job")]

    # Counted once: each walk-in complaint request is one complaint, not two.
    total = eventually(lambda: analyst.get("/v1/reports/complaints", params={"channel": "walk_in"}),
                       lambda r: r.status_code == 200 and r.json()["total"]["complaint_requests"] >= 1)["total"]
    assert total["complaints"] == total["complaint_requests"]


def test_a_complaint_the_desk_sends_to_dispatch_gets_a_job_on_the_categorys_skills(stack: Stack):
    customer_id = f"cust-{time.monotonic_ns()}"
    agent, dispatcher = stack.client("intake", Role.agent), stack.client("dispatch", Role.dispatcher)
    request_id = agent.post("/v1/requests", json=complaint(customer_id)).json()["id"]
    analyst = stack.client("analytics", Role.analyst)
    archived(analyst, request_id, "FeedbackReceived")
    assert dispatcher.get(f"/v1/jobs/{request_id}").status_code == 404
    sent = agent.post(f"/v1/requests/{request_id}/triage", json={"dispatch": True, "reason": "the hatch is broken"})
    assert sent.status_code == 200 and sent.json()["dispatch"] is True, sent.text
    job = eventually(lambda: dispatcher.get(f"/v1/jobs/{request_id}"), lambda r: r.status_code == 200)
    assert (job["status"], job["required_skills"]) == ("open", ["staff"])
    archived(analyst, request_id, "JobOpened")
    desk = stack.client("feedback", Role.agent)
    item = desk.get(f"/v1/feedback/{complaint_taken_at_intake(request_id)}").json()
    assert item["status"] == "open"  # the complaint is still feedback's to answer
    assert agent.get(f"/v1/requests/{request_id}").json()["status"] == "triaged"
