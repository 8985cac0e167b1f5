"""Issue 12, symptom 7: a complaint taken at intake is feedback's to handle, not repair work.

Intake says so in its triage (`dispatch: false` unless the desk says otherwise), dispatch opens no
job for it until the desk does, and intake follows feedback's acknowledgement of the complaint as
the request's first response. Pure: the aggregates and dispatch's handlers on a fake unit of work.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.intake.domain import commands as cmd
from services.intake.domain.model import Rules, ServiceRequest, Status
from services.intake.domain.priority import Level
from shared.clock import FrozenClock
from shared.contracts import decode, feedback, intake
from shared.errors import InvalidTransition
from tests.support.events import published

RULES = Rules()
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def taken(kind: str, clock: FrozenClock) -> ServiceRequest:
    request = ServiceRequest.submit("r1", cmd.SubmitRequest(
        customer=cmd.CustomerDetails(id="c1", name="Ann"), channel="walk_in", kind=kind,
        title="Rude answer at the counter", description="Nobody listened", urgency=Level.medium,
        impact=Level.medium, taken_by="agent-1", category=None), clock.now(), RULES)
    request.take_pending()
    return request


def test_a_complaint_is_not_sent_to_dispatch_and_repair_work_is():
    clock = FrozenClock(NOW)
    assert taken("complaint", clock).triage.dispatch is False
    assert taken("fault", clock).triage.dispatch is True


def test_the_desk_sends_a_complaint_to_dispatch_and_later_triages_keep_it_there():
    clock = FrozenClock(NOW)
    request = taken("complaint", clock)
    request.retriage(cmd.Retriage("r1", "agent-2", "the counter's hatch is broken too", dispatch=True),
                     clock.now(), RULES)
    request.retriage(cmd.Retriage("r1", "agent-2", "more urgent", urgency=Level.high), clock.now(), RULES)
    first, second = request.take_pending()
    assert (first.dispatch, second.dispatch) == (True, True)


def test_work_sent_to_dispatch_is_not_taken_back_by_a_triage():
    clock = FrozenClock(NOW)
    request = taken("fault", clock)
    with pytest.raises(InvalidTransition, match="dispatch"):
        request.retriage(cmd.Retriage("r1", "agent-2", "only a complaint", dispatch=False), clock.now(), RULES)


def test_feedback_acknowledging_the_complaint_is_the_requests_first_response_once():
    clock = FrozenClock(NOW)
    request = taken("complaint", clock)
    item = feedback.complaint_taken_at_intake("r1")
    at = NOW + timedelta(hours=1)
    assert request.answered_by_feedback(cmd.FollowAcknowledgement("r1", item, "agent-3", "on it", at), clock.now())
    (acknowledged,) = request.take_pending()
    assert isinstance(acknowledged, intake.RequestAcknowledged)
    assert (acknowledged.acknowledged_by, acknowledged.acknowledged_at, acknowledged.within_target) == (
        "agent-3", at, True)
    assert request.status is Status.acknowledged
    # Intake's own acknowledgement came back to it from feedback: nothing more to record.
    assert not request.answered_by_feedback(cmd.FollowAcknowledgement("r1", item, "agent-3", None, at), clock.now())


def test_acknowledging_another_item_about_the_request_is_not_its_first_response():
    clock = FrozenClock(NOW)
    request = taken("fault", clock)
    assert not request.answered_by_feedback(cmd.FollowAcknowledgement("r1", "some-other-item", "agent-3", None, NOW),
                                            clock.now())
    assert request.acknowledged is None


def test_older_records_decode_into_the_current_contracts():
    data = published(taken("fault", FrozenClock(NOW)).triage, 2, "request", NOW).data
    v2 = {k: v for k, v in data.items() if k != "dispatch"}  # v2 had no such field: all work was dispatch's
    assert decode("servicetrail.intake.RequestTriaged.v2", v2).dispatch is True
    received = feedback.FeedbackReceived(feedback_id="f1", subject_id="r1", kind="complaint", request_id="r1",
                                         text="late", given_by="c1", respond_by=NOW, received_at=NOW)
    v1 = {k: v for k, v in published(received, 1, "feedback", NOW).data.items() if k != "via"}
    assert decode("servicetrail.feedback.FeedbackReceived.v1", v1).via == "feedback"


def test_the_complaint_item_of_a_request_has_one_id_whoever_derives_it():
    assert feedback.complaint_taken_at_intake("r1") == feedback.complaint_taken_at_intake("r1")
    assert feedback.complaint_taken_at_intake("r1") != feedback.complaint_taken_at_intake("r2")


async def test_dispatch_opens_no_job_for_a_complaint_until_the_desk_sends_it():
    from services.dispatch.domain import commands as dcmd
    from tests.unit.test_dispatch_handlers import World, triaged

    world = World()
    complaint = triaged("req-c").model_copy(update={"kind": "complaint", "category": "complaint > staff",
                                                    "dispatch": False})
    assert (await world.bus.handle(dcmd.OpenJob(complaint))).body is None
    assert world.store.names("job-req-c") == []
    job = (await world.bus.handle(dcmd.OpenJob(complaint.model_copy(update={"dispatch": True})))).body
    assert job.status == "open" and world.store.names("job-req-c") == ["JobOpened"]
