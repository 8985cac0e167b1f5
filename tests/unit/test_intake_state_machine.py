"""The service request aggregate: what each command records, and what it refuses (HTTP 409/422)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.intake.domain import commands as cmd
from services.intake.domain.model import Rules, ServiceRequest, Status
from services.intake.domain.priority import Level
from shared.clock import FrozenClock
from shared.contracts import intake as ev
from shared.errors import Invalid, InvalidTransition

RULES = Rules()


def submit(clock: FrozenClock, customer: str = "c1", by: str = "agent-1", category: str | None = "fault",
           urgency: str = "medium", impact: str = "medium", request_id: str = "r1") -> ServiceRequest:
    request = ServiceRequest.submit(request_id, cmd.SubmitRequest(
        customer=cmd.CustomerDetails(id=customer, name="Ann", phone="+44 1234 567890"), channel="phone",
        kind="fault", title="Printer jams", description="Every page", urgency=Level(urgency),
        impact=Level(impact), taken_by=by, category=category, location="Floor 2"), clock.now(), RULES)
    request.take_pending()
    return request


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def test_submitting_records_received_then_triaged_with_the_policy_in_force(clock):
    request = ServiceRequest.submit("r1", cmd.SubmitRequest(
        customer=cmd.CustomerDetails(id="c1", name="Ann"), channel="web", kind="fault", title="t",
        description="d", urgency=Level.high, impact=Level.high, taken_by="self-service"), clock.now(), RULES)
    received, triaged = request.take_pending()
    assert isinstance(received, ev.RequestReceived) and isinstance(triaged, ev.RequestTriaged)
    assert triaged.priority == "P1" and triaged.emergency
    assert triaged.sla.policy == "default-2026" and triaged.sla.calendar["name"] == "24x7"
    assert triaged.triaged_by == "auto" and triaged.needs_review  # self-service waits for an agent's look
    assert request.status is Status.triaged


def test_an_agent_taking_a_categorised_request_triages_it_for_good(clock):
    request = submit(clock)
    assert request.triage is not None and not request.triage.needs_review and request.triage.triaged_by == "agent-1"


def test_acknowledging_stops_the_response_clock_and_says_whether_it_was_in_time(clock):
    request = submit(clock, urgency="high", impact="high")
    clock.advance(minutes=90)
    request.acknowledge(cmd.Acknowledge("r1", "agent-2", "On it"), clock.now())
    (acknowledged,) = request.take_pending()
    assert isinstance(acknowledged, ev.RequestAcknowledged) and not acknowledged.within_target
    assert request.status is Status.acknowledged
    with pytest.raises(InvalidTransition, match="acknowledged"):
        request.acknowledge(cmd.Acknowledge("r1", "agent-2"), clock.now())


def test_retriage_recomputes_priority_and_deadlines_from_the_time_received(clock):
    request = submit(clock, urgency="low", impact="low")
    clock.advance(hours=3)
    request.retriage(cmd.Retriage("r1", "agent-9", "customer is a hospital", urgency=Level.high,
                                  impact=Level.high, category="fault > equipment"), clock.now(), RULES)
    (triaged,) = request.take_pending()
    assert triaged.priority == "P1" and triaged.respond_by == request.received.received_at + timedelta(hours=1)
    assert triaged.reason == "customer is a hospital" and triaged.category == "fault > equipment"
    with pytest.raises(Invalid):
        request.retriage(cmd.Retriage("r1", "a", "x", category="nope"), clock.now(), RULES)


def test_an_update_records_only_what_changes_and_keeps_personal_changes_apart(clock):
    request = submit(clock)
    assert request.update(cmd.UpdateRequest("r1", "agent-1", "typo", {"title": "Printer jams", "customer.phone": "+44 999 000000"}), clock.now())
    (updated,) = request.take_pending()
    assert list(updated.changes) == [] and set(updated.personal_changes) == {"customer.phone"}
    assert updated.personal_changes["customer.phone"].before == "+44 1234 567890"
    assert not request.update(cmd.UpdateRequest("r1", "agent-1", "again", {"customer.phone": "+44 999 000000"}), clock.now())
    with pytest.raises(Invalid) as error:
        request.update(cmd.UpdateRequest("r1", "agent-1", "x", {"priority": "P1"}), clock.now())
    assert error.value.field == "priority"
    assert ev.RequestUpdated.personal_fields() == ["personal_changes"]


def test_a_withdrawn_request_refuses_further_work_but_still_takes_contacts(clock):
    request = submit(clock)
    request.withdraw(cmd.Withdraw("r1", "c1", "fixed itself"), clock.now())
    for attempt in (
        lambda: request.acknowledge(cmd.Acknowledge("r1", "a"), clock.now()),
        lambda: request.withdraw(cmd.Withdraw("r1", "a", "again"), clock.now()),
        lambda: request.update(cmd.UpdateRequest("r1", "a", "x", {"title": "y"}), clock.now()),
        lambda: request.confirm_need(cmd.ConfirmNeed("r1", "a", "what"), clock.now()),
        lambda: request.reopen(cmd.Reopen("r1", "no", clock.now()), clock.now()),
    ):
        with pytest.raises(InvalidTransition, match="withdrawn"):
            attempt()
    request.record_contact(cmd.RecordContact("r1", "a", "call", "inbound", "customer called to say thanks"), clock.now())
    assert request.contacts == 1


def test_a_duplicate_merges_only_into_an_open_request_of_the_same_customer(clock):
    original, duplicate = submit(clock, request_id="r1"), submit(clock, request_id="r2")
    stranger = submit(clock, customer="c2", request_id="r3")
    with pytest.raises(Invalid, match="same customer"):
        duplicate.merge_into(stranger, cmd.Merge("r2", "r3", "a", "dup"), clock.now())
    with pytest.raises(Invalid, match="itself"):
        duplicate.merge_into(duplicate, cmd.Merge("r2", "r2", "a", "dup"), clock.now())
    duplicate.merge_into(original, cmd.Merge("r2", "r1", "a", "same printer"), clock.now())
    assert duplicate.status is Status.merged and duplicate.merged_into == "r1"
    with pytest.raises(InvalidTransition, match="merged"):
        submit(clock, request_id="r4").merge_into(duplicate, cmd.Merge("r4", "r2", "a", "dup"), clock.now())


def follow(request: ServiceRequest, clock: FrozenClock, *facts: str) -> None:
    for fact in facts:
        clock.advance(minutes=1)
        request.progress(cmd.FollowFact(request.id, fact, f"servicetrail.{fact}.v1", "e", clock.now()), clock.now())


def test_a_rejected_resolution_reopens_and_counts_reopens(clock):
    request = submit(clock)
    request.acknowledge(cmd.Acknowledge("r1", "a"), clock.now())
    follow(request, clock, "dispatch.ResourceAllocated", "dispatch.IssueResolved")
    request.reopen(cmd.Reopen("r1", "still broken", clock.now()), clock.now())
    follow(request, clock, "dispatch.ResourceAllocated", "dispatch.IssueResolved")
    request.reopen(cmd.Reopen("r1", "still broken again", clock.now()), clock.now())
    reopened = request.take_pending()[-1]
    assert reopened.reopen_count == 2 and request.status is Status.reopened
    request.acknowledge(cmd.Acknowledge("r1", "a", "looking again"), clock.now())


def test_a_request_rebuilt_from_its_events_has_the_same_state(clock):
    original = ServiceRequest.submit("r1", cmd.SubmitRequest(
        customer=cmd.CustomerDetails(id="c1", name="Ann"), channel="phone", kind="fault", title="t",
        description="d", urgency=Level.high, impact=Level.low, taken_by="agent-1"), clock.now(), RULES)
    original.acknowledge(cmd.Acknowledge("r1", "a"), clock.now())
    original.update(cmd.UpdateRequest("r1", "a", "why", {"title": "T2", "customer.name": "Anne"}), clock.now())
    events = original.take_pending()
    rebuilt = ServiceRequest.rehydrate(events, version=len(events))
    assert (rebuilt.status, rebuilt.details, rebuilt.triage) == (original.status, original.details, original.triage)
