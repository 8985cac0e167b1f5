"""Feedback over HTTP and through the broker: confirmation, closing by silence, surveys, feedback."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.intake.domain.priority import Level
from shared.auth import Role
from tests.api.conftest import MONDAY_10
from tests.api.feedback_support import IntakeRequest, issue_resolved
from tests.support.app import as_role
from tests.support.kafka import produce
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def closure_status(client: Any, request_id: str) -> str | None:  # noqa: ANN401
    r = await client.get(f"/v1/requests/{request_id}/closure", headers=as_role(Role.agent))
    return r.json()["status"] if r.status_code == 200 else None


async def resolved_request(feedback, broker, **submitted: Any) -> tuple[str, str]:  # noqa: ANN001
    """A request of a new customer, resolved by dispatch: as intake and dispatch publish it."""
    app, client, _ = feedback
    request = IntakeRequest(f"cust-{uuid.uuid4().hex[:8]}", MONDAY_10, **submitted)
    await produce(broker.bootstrap, "intake.events", request.records(MONDAY_10))
    await produce(broker.bootstrap, "dispatch.events", [issue_resolved(request.id, MONDAY_10)])

    async def awaiting() -> bool:  # the closure is read once feedback knows whose request it is, too
        return await closure_status(client, request.id) == "awaiting_confirmation"

    await until(awaiting, timeout=30)
    return request.id, request.customer


async def test_the_resolution_reaches_the_confirmation_as_dispatch_published_it(feedback, broker):
    app, client, _ = feedback
    request_id, _ = await resolved_request(feedback, broker)
    d = app.state.feedback
    async with d.db.connect() as conn:
        (asked,) = await d.closures.store.read_stream(conn, f"closure-{request_id}")
    assert asked.name == "ConfirmationRequested"
    assert (asked.data["resolution_code"], asked.data["summary"]) == ("fixed", "new drum fitted")


async def test_withdrawn_and_merged_requests_close_without_a_survey(feedback, broker):
    app, client, _ = feedback
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    withdrawn, duplicate, kept = (IntakeRequest(customer, MONDAY_10) for _ in range(3))
    records = [*withdrawn.records(MONDAY_10), *duplicate.records(MONDAY_10), *kept.records(MONDAY_10)]
    await produce(broker.bootstrap, "intake.events", [*records, *withdrawn.withdraw(MONDAY_10),
                                                      *duplicate.merge_into(kept, MONDAY_10)])

    async def settled() -> bool:
        return [await closure_status(client, r.id) for r in (withdrawn, duplicate, kept)] == ["closed", "closed", "open"]

    await until(settled, timeout=30)
    d = app.state.feedback
    async with d.db.connect() as conn:
        ends = [[(e.name, e.data.get("how")) for e in await d.closures.store.read_stream(conn, f"closure-{r.id}")]
                for r in (withdrawn, duplicate)]
    assert ends == [[("RequestClosed", "withdrawn")], [("RequestClosed", "merged")]]


async def test_a_customer_confirms_and_the_request_closes_with_a_survey(feedback, broker):
    app, client, clock = feedback
    request_id, customer = await resolved_request(feedback, broker)
    other = await client.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": True},
                              headers=as_role(Role.customer, "cust-stranger"))
    assert other.status_code == 404
    response = await client.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": True},
                                 headers=as_role(Role.customer, customer))
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert response.json()["survey_sent"]
    again = await client.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": False, "reason": "x"},
                              headers=as_role(Role.customer, customer))
    assert again.status_code == 409


async def test_a_rejection_needs_a_reason_and_puts_the_request_back_to_work(feedback, broker):
    app, client, _ = feedback
    request_id, customer = await resolved_request(feedback, broker)
    no_reason = await client.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": False},
                                  headers=as_role(Role.customer, customer))
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    rejected = await client.post(f"/v1/requests/{request_id}/confirmation",
                                 json={"accepted": False, "reason": "still broken"}, headers=as_role(Role.customer, customer))
    assert rejected.status_code == 200 and rejected.json()["status"] == "open" and rejected.json()["rejections"] == 1


async def test_silence_closes_the_request_after_three_days_by_the_clock(feedback, broker):
    app, client, clock = feedback
    request_id, customer = await resolved_request(feedback, broker)
    clock.set(MONDAY_10 + timedelta(days=2, hours=23))
    await app.state.closer.run_once()
    closure = (await client.get(f"/v1/requests/{request_id}/closure", headers=as_role(Role.agent))).json()
    assert closure["status"] == "awaiting_confirmation"
    clock.set(MONDAY_10 + timedelta(days=3, hours=1))
    await app.state.closer.run_once()
    await app.state.closer.run_once()
    closure = (await client.get(f"/v1/requests/{request_id}/closure", headers=as_role(Role.agent))).json()
    assert closure["status"] == "closed" and closure["survey_sent"]
    clock.set(MONDAY_10)


async def test_a_survey_link_works_once_without_an_account_and_never_forged_or_expired(feedback, broker):
    app, client, clock = feedback
    request_id, customer = await resolved_request(feedback, broker)
    assert (await client.get(f"/v1/requests/{request_id}/survey", headers=as_role(Role.customer, customer))).status_code == 409
    await client.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": True},
                      headers=as_role(Role.customer, customer))
    link = (await client.get(f"/v1/requests/{request_id}/survey", headers=as_role(Role.customer, customer))).json()
    assert link["url"].endswith(link["token"])
    bad = await client.post(f"/v1/surveys/{link['token']}", json={"csat": 6, "nps": 11, "dimensions": {"empathy": 0}})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"csat", "nps"}
    forged = await client.post(f"/v1/surveys/{link['token'][:-4]}AAAA", json={"csat": 4})
    assert forged.status_code == 404
    clock.set(MONDAY_10 + timedelta(days=15))
    expired = await client.post(f"/v1/surveys/{link['token']}", json={"csat": 4})
    assert expired.status_code == 410
    clock.set(MONDAY_10)
    first = await client.post(f"/v1/surveys/{link['token']}", json={"csat": 2, "nps": 3,
                                                                     "dimensions": {"reliability": 2}, "comment": "slow"})
    assert first.status_code == 201
    second = await client.post(f"/v1/surveys/{link['token']}", json={"csat": 5})
    assert second.status_code == 409
    d = app.state.feedback
    async with d.db.connect() as conn:
        names = [e.name for e in await d.closures.store.read_stream(conn, f"closure-{request_id}")]
    assert names[-2:] == ["SurveyReturned", "FollowUpScheduled"]  # a low score opens a follow-up
    assert names.count("SurveyReturned") == 1


async def test_feedback_items_get_their_kinds_deadline(feedback, broker):
    app, client, _ = feedback
    complaint = await client.post("/v1/feedback", json={"kind": "complaint", "text": "nobody called back"},
                                  headers=as_role(Role.customer, "cust-x"))
    assert complaint.status_code == 201 and complaint.json()["respond_by"] == "2026-03-03T10:00:00Z"
    praise = await client.post("/v1/feedback", json={"kind": "praise", "text": "great"}, headers=as_role(Role.agent))
    assert praise.json()["respond_by"] == "2026-03-09T10:00:00Z"
    assert (await client.post("/v1/feedback", json={"kind": "rant", "text": "x"},
                              headers=as_role(Role.agent))).status_code == 422
    foreign = await client.post("/v1/feedback", json={"kind": "complaint", "request_id": "not-mine", "text": "x"},
                                headers=as_role(Role.customer, "cust-x"))
    assert foreign.status_code == 404


async def test_a_complaint_not_handled_in_a_day_escalates_once_and_late_handling_says_so(feedback, broker):
    app, client, clock = feedback
    created = await client.post("/v1/feedback", json={"kind": "complaint", "text": "rude on the phone"},
                                headers=as_role(Role.customer, "cust-y"))
    item_id = created.json()["id"]
    ack = await client.post(f"/v1/feedback/{item_id}/acknowledge", json={"note": "looking"}, headers=as_role(Role.agent))
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert (await client.post(f"/v1/feedback/{item_id}/acknowledge", headers=as_role(Role.agent))).status_code == 409
    queue = (await client.get("/v1/queues/complaints", headers=as_role(Role.agent))).json()
    assert [q["overdue"] for q in queue if q["id"] == item_id] == [False]
    clock.set(MONDAY_10 + timedelta(hours=25))
    await app.state.closer.run_once()
    await app.state.closer.run_once()

    # The app's own closer, on its poll, may hold the complaint's row (SKIP LOCKED) while these run:
    # then it is the one that escalates it, a moment later.
    async def escalated() -> bool:
        return (await client.get(f"/v1/feedback/{item_id}", headers=as_role(Role.agent))).json()["escalated"]

    await until(escalated)
    queue = (await client.get("/v1/queues/complaints", headers=as_role(Role.agent))).json()
    assert [q["overdue"] for q in queue if q["id"] == item_id] == [True]
    looked = await client.post(f"/v1/feedback/{item_id}/investigate", json={"findings": "call recording confirms it"},
                               headers=as_role(Role.agent))
    assert looked.status_code == 200 and looked.json()["status"] == "investigating"
    resolved = await client.post(f"/v1/feedback/{item_id}/resolve", json={"outcome": "apologised, coached the agent"},
                                 headers=as_role(Role.agent))
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    d = app.state.feedback
    async with d.db.connect() as conn:
        events = await d.items.store.read_stream(conn, f"feedback-{item_id}")
    assert [e.name for e in events] == ["FeedbackReceived", "FeedbackAcknowledged", "FeedbackEscalated",
                                        "FeedbackInvestigated", "FeedbackResolved"]
    assert events[-1].data["within_deadline"] is False
    assert (await client.get(f"/v1/feedback/{item_id}", headers=as_role(Role.customer, "cust-y"))).status_code == 200
    assert (await client.get(f"/v1/feedback/{item_id}", headers=as_role(Role.customer, "cust-z"))).status_code == 404
    clock.set(MONDAY_10)


async def test_a_p1_gets_a_call_back_after_closing_which_the_desk_completes(feedback, broker):
    app, client, clock = feedback
    request_id, customer = await resolved_request(feedback, broker, urgency=Level.high, impact=Level.high)
    d = app.state.feedback

    async def knows_priority() -> bool:
        async with d.db.connect() as conn:
            return (await d.tables.request_facts(conn, request_id)).get("priority") == "P1"

    await until(knows_priority)
    await client.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": True},
                      headers=as_role(Role.customer, customer))
    due = (await client.get("/v1/queues/follow-ups", headers=as_role(Role.agent))).json()
    assert [r["follow_up_due"] for r in due if r["request_id"] == request_id] == ["2026-03-03T10:00:00Z"]
    done = await client.post(f"/v1/requests/{request_id}/follow-up", json={"outcome": "customer happy"},
                             headers=as_role(Role.agent))
    assert done.status_code == 200
    due = (await client.get("/v1/queues/follow-ups", headers=as_role(Role.agent))).json()
    assert request_id not in [r["request_id"] for r in due]
    again = await client.post(f"/v1/requests/{request_id}/follow-up", json={"outcome": "x"}, headers=as_role(Role.agent))
    assert again.status_code == 409


async def test_an_improvement_action_answers_feedback_and_goes_round_plan_do_check_act(feedback, broker):
    app, client, clock = feedback
    agent = as_role(Role.agent, "lead-1")
    suggestion = (await client.post("/v1/feedback", json={"kind": "suggestion", "text": "text me updates"},
                                    headers=as_role(Role.customer, "cust-z"))).json()
    due = (MONDAY_10 + timedelta(days=30)).isoformat()
    opened = await client.post("/v1/actions", headers=agent, json={
        "title": "SMS updates", "plan": "send an SMS at each step", "owner": "lead-1", "due_at": due,
        "answers": [suggestion["id"]]})
    assert opened.status_code == 201 and opened.json()["stage"] == "plan"
    action_id = opened.json()["id"]
    for stage, expected in (("do", 200), ("check", 200), ("plan", 200), ("do", 200), ("check", 200), ("act", 200),
                            ("done", 200), ("do", 409)):
        response = await client.post(f"/v1/actions/{action_id}/progress", headers=agent,
                                     json={"stage": stage, "note": f"to {stage}"})
        assert response.status_code == expected, (stage, response.text)
    assert action_id not in [a["id"] for a in (await client.get("/v1/queues/actions", headers=agent)).json()]
    ghost = await client.post("/v1/actions", headers=agent, json={
        "title": "x", "plan": "y", "owner": "z", "due_at": due, "answers": ["no-such-feedback"]})
    assert ghost.status_code == 404
    past = await client.post("/v1/actions", headers=agent, json={
        "title": "x", "plan": "y", "owner": "z", "due_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "due_at"
    skip = await client.post("/v1/actions", headers=agent, json={"title": "x", "plan": "y", "owner": "z", "due_at": due})
    bad = await client.post(f"/v1/actions/{skip.json()['id']}/progress", headers=agent, json={"stage": "act", "note": "x"})
    assert bad.status_code == 409
    open_actions = (await client.get("/v1/queues/actions", headers=agent)).json()
    assert [a["overdue"] for a in open_actions if a["id"] == skip.json()["id"]] == [False]
