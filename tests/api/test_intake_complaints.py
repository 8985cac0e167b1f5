"""Issue 12, symptom 7, at intake: a complaint is not dispatch's work until the desk says so, and
feedback's acknowledgement of the complaint it raised is the request's first response."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.contracts import feedback
from tests.api.conftest import IntakeApi
from tests.support.events import published
from tests.support.kafka import create_topics, produce
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
WALK_IN = {"channel": "walk_in", "kind": "complaint", "category": "complaint > staff"}


async def test_a_complaint_goes_to_dispatch_only_when_the_desk_says_so_and_stays_there(intake: IntakeApi):
    created = await intake.created(**WALK_IN)
    assert (created["kind"], created["dispatch"]) == ("complaint", False)
    request_id = created["id"]
    sent = await intake.command(request_id, "triage", {"dispatch": True, "reason": "the hatch is broken too"})
    assert sent.status_code == 200 and sent.json()["dispatch"] is True, sent.text
    kept = await intake.command(request_id, "triage", {"urgency": "high", "reason": "the customer is upset"})
    assert kept.json()["dispatch"] is True
    back = await intake.command(request_id, "triage", {"dispatch": False, "reason": "only a complaint"})
    assert back.status_code == 409 and "dispatch" in back.json()["detail"], back.text
    bad = await intake.command(request_id, "triage", {"dispatch": "maybe", "reason": "x"})
    assert bad.status_code == 422 and "dispatch" in bad.text
    assert (await intake.created())["dispatch"] is True  # repair work is dispatch's from the start


async def test_feedback_acknowledging_the_complaint_answers_the_request_in_time(intake: IntakeApi, broker):
    await create_topics(broker.bootstrap, "dispatch.events", "feedback.events")
    created = await intake.created(**WALK_IN)
    request_id = created["id"]
    item_id = feedback.complaint_taken_at_intake(request_id)
    answered_at = datetime.now(timezone.utc) + timedelta(minutes=3)
    acknowledged = feedback.FeedbackAcknowledged(feedback_id=item_id, subject_id=request_id, acknowledged_by="agent-9",
                                                 note="we are sorry", acknowledged_at=answered_at)
    other = feedback.FeedbackAcknowledged(feedback_id="another-item", subject_id=request_id, acknowledged_by="x",
                                          acknowledged_at=answered_at - timedelta(minutes=1))
    await produce(broker.bootstrap, "feedback.events", [published(other, 2, "feedback"),
                                                        published(acknowledged, 2, "feedback")])

    async def answered() -> bool:
        return (await intake.get(f"/v1/requests/{request_id}")).json()["status"] == "acknowledged"

    await until(answered, timeout=30)
    view = (await intake.get(f"/v1/requests/{request_id}")).json()
    assert datetime.fromisoformat(view["acknowledged_at"].replace("Z", "+00:00")) == answered_at
    again = await intake.command(request_id, "acknowledge", {"message": "hello"})
    assert again.status_code == 409  # answered once, by feedback's acknowledgement
