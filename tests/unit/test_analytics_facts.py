"""Analytics facts: folding the services' events into request, feedback and resource facts. Pure.

Payloads come from the services' own event classes (through `tests.support.history`), dumped exactly as
on the wire, and are decoded by their full ce_type into the published contracts, as analytics reads
them, before they fold; every expected number below is worked out by hand.
"""
from __future__ import annotations

import random
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.analytics.adapters.fact_tables import FEEDBACK, REQUESTS, RESOURCES
from services.analytics.domain.facts import RequestFact
from services.analytics.domain.folds import DIMENSIONS, FOLDS
from services.analytics.domain.measures import measures, ping_pongs
from services.analytics.domain.records import FEEDBACK_EVENTS, RESOURCE_EVENTS, FeedbackFact, ResourceFact
from services.analytics.service_layer.projector import routes
from shared.contracts import decode
from shared.contracts import dispatch as dispatch
from shared.contracts import feedback as feedback
from shared.contracts import intake as intake
from shared.envelope import Envelope
from shared.events import DomainEvent
from tests.support.history import History, Journey

SERVICES = ("intake", "dispatch", "feedback")


def t(hour: int, minute: int = 0, day: int = 4) -> datetime:
    """A time on Monday 4 March 2024 (UTC), or on `day` of that month."""
    return datetime(2024, 3, day, hour, minute, tzinfo=timezone.utc)


def typed(env: Envelope) -> DomainEvent:
    """The event as analytics reads it: decoded from the wire by its full ce_type."""
    return decode(env.type, env.data)


def fold(envelopes: Iterable[Envelope], request_id: str = "r1") -> RequestFact:
    fact = RequestFact(request_id)
    for env in envelopes:
        fact.apply(typed(env), env.time)
    return fact


def journey(request_id: str = "r1") -> tuple[History, Journey]:
    history = History()
    return history, Journey(history, request_id)


def triaged(j: Journey, at: datetime, priority: str = "P2", *, received_at: datetime | None = None,
            category: str = "it > printer") -> Journey:
    return j.triaged(at, priority=priority, respond_by=at + timedelta(hours=4), resolve_by=at + timedelta(days=1),
                     received_at=received_at or t(9), category=category)


def updated(h: History, request_id: str, at: datetime, **changes: tuple[str | None, str | None]) -> None:
    h.record("intake", f"request-{request_id}", intake.RequestUpdated(
        request_id=request_id, changes={k: intake.FieldChange(before=b, after=a) for k, (b, a) in changes.items()},
        updated_by="agent-1", reason="customer called back", updated_at=at), at)


def dispatched(h: History, request_id: str, event: DomainEvent, at: datetime) -> None:
    h.record("dispatch", f"job-{request_id}", event, at)


def closure(h: History, request_id: str, event: DomainEvent, at: datetime) -> None:
    h.record("feedback", f"closure-{request_id}", event, at)


def happy_path() -> History:
    """Received 09:00, triaged 09:10, acknowledged 09:25, allocated 09:40, started 10:00, paused 10:30,
    resumed 11:15, resolved 12:00, confirmed 13:20, closed 13:30."""
    h, j = journey()
    j.received(t(9))
    triaged(j, t(9, 10))
    j.acknowledged(t(9, 25), respond_by=t(13, 10), within_target=True)
    j.allocated(t(9, 40), "res-a").started(t(10), "res-a").paused(t(10, 30)).resumed(t(11, 15))
    j.resolved(t(12), "res-a").confirmed(t(13, 20)).closed(t(13, 30))
    return h


# --- a full journey ----------------------------------------------------------------------------------------------


def test_a_happy_journey_measures_every_stage_in_seconds():
    m = measures(fold(happy_path().envelopes))

    assert m["triage_s"] == 600.0  # 09:00 -> 09:10
    assert m["response_s"] == 1500.0  # 09:00 -> 09:25
    assert m["allocation_s"] == 1800.0  # triaged 09:10 -> allocated 09:40
    assert m["start_s"] == 1200.0  # allocated 09:40 -> started 10:00
    assert m["lead_s"] == 10800.0  # 09:00 -> resolved 12:00
    assert m["waiting_s"] == 6300.0  # lead 3h minus 1h15m worked
    assert m["confirmation_s"] == 5400.0  # resolved 12:00 -> closed 13:30
    assert m["ended_at"] == t(13, 30)
    assert m["handoffs"] == 0 and m["ping_pongs"] == 0
    assert m["fcr"] is True


def test_a_happy_journey_sums_work_and_pause_time_on_the_fact():
    fact = fold(happy_path().envelopes)

    assert fact.work_s == 4500.0  # 10:00-10:30 plus 11:15-12:00
    assert fact.paused_s == 2700.0  # 10:30-11:15
    assert fact.pauses == 1
    assert fact.working_since is None and fact.paused_since is None


def test_a_happy_journey_records_who_when_and_how():
    fact = fold(happy_path().envelopes)

    assert (fact.channel, fact.kind, fact.category, fact.owner) == ("phone", "fault", "it > printer", "agent-1")
    assert (fact.priority, fact.emergency) == ("P2", False)
    assert fact.received_at == t(9) and fact.triaged_at == t(9, 10)
    assert fact.respond_by == t(13, 10) and fact.resolve_by == t(9, 10, day=5)  # parsed by the contract
    assert fact.acknowledged_at == t(9, 25) and fact.ack_in_time is True
    assert fact.first_allocated_at == t(9, 40) and fact.resource_id == "res-a" and fact.path == ["res-a"]
    assert fact.started_at == t(10)
    assert fact.first_resolved_at == fact.resolved_at == t(12)
    assert (fact.resolver_id, fact.resolution_code) == ("res-a", "fixed")
    assert fact.confirmed_at == t(13, 20)
    assert (fact.closed_at, fact.closed_how) == (t(13, 30), "confirmed")


def test_a_fact_that_has_seen_nothing_measures_nothing():
    m = measures(RequestFact("r1"))

    for key in ("ended_at", "triage_s", "response_s", "allocation_s", "start_s", "confirmation_s", "lead_s",
                "waiting_s"):
        assert m[key] is None, key
    assert (m["handoffs"], m["ping_pongs"], m["fcr"]) == (0, 0, False)


def test_stages_not_reached_yet_stay_none():
    h, j = journey()
    j.received(t(9))
    triaged(j, t(9, 10))
    j.allocated(t(9, 40), "res-a").started(t(10), "res-a")

    m = measures(fold(h.envelopes))

    assert (m["triage_s"], m["allocation_s"], m["start_s"]) == (600.0, 1800.0, 1200.0)
    assert m["response_s"] is None and m["lead_s"] is None and m["waiting_s"] is None
    assert m["confirmation_s"] is None and m["ended_at"] is None and m["fcr"] is False


# --- work time: reopens, hand-offs, releases ---------------------------------------------------------------------


def test_work_time_sums_the_spans_before_and_after_a_reopen():
    h, j = journey()
    j.received(t(9)).allocated(t(9, 5), "res-a").started(t(9, 10), "res-a").resolved(t(10), "res-a")
    j.reopened(t(11), count=1).started(t(11, 30), "res-a").resolved(t(11, 50), "res-a")

    fact = fold(h.envelopes)

    assert fact.work_s == 4200.0  # 50 min + 20 min
    assert fact.started_at == t(9, 10)  # the first start
    assert fact.first_resolved_at == t(10) and fact.resolved_at == t(11, 50)
    assert fact.reopens == 1
    m = measures(fact)
    assert m["lead_s"] == 10200.0  # 09:00 -> last resolved 11:50
    assert m["waiting_s"] == 6000.0  # 10200 - 4200


def test_a_hand_off_while_working_ends_the_first_holders_span():
    h, j = journey()
    j.received(t(9)).allocated(t(9), "res-a").started(t(9, 10), "res-a")
    j.allocated(t(9, 40), "res-b", previous="res-a")

    fact = fold(h.envelopes)
    assert fact.work_s == 1800.0 and fact.working_since is None  # 09:10 -> 09:40, then nobody works

    j.started(t(10), "res-b").resolved(t(10, 20), "res-b")
    fact = fold(h.envelopes)

    assert fact.work_s == 3000.0  # 30 min by A + 20 min by B; 09:40-10:00 is nobody's work
    assert fact.path == ["res-a", "res-b"] and fact.resource_id == "res-b"
    assert fact.first_allocated_at == t(9) and fact.started_at == t(9, 10)
    assert measures(fact)["handoffs"] == 1


def test_a_hand_off_while_paused_ends_the_pause():
    h, j = journey()
    j.received(t(9)).allocated(t(9), "res-a").started(t(9, 10), "res-a").paused(t(9, 30))
    j.allocated(t(10, 30), "res-b", previous="res-a")

    fact = fold(h.envelopes)
    assert fact.paused_s == 3600.0 and fact.paused_since is None  # 09:30 -> 10:30

    j.started(t(11), "res-b").resolved(t(11, 15), "res-b")
    fact = fold(h.envelopes)

    assert fact.work_s == 2100.0  # 20 min by A + 15 min by B
    assert fact.paused_s == 3600.0 and fact.pauses == 1


def test_releasing_a_job_ends_the_span_being_worked():
    h, j = journey()
    j.received(t(9)).allocated(t(9), "res-a").started(t(9, 10), "res-a")
    dispatched(h, "r1", dispatch.JobReleased(request_id="r1", resource_id="res-a", reason="off sick",
                                             released_at=t(9, 55)), t(9, 55))

    fact = fold(h.envelopes)

    assert fact.work_s == 2700.0 and fact.working_since is None


def test_resolving_while_paused_ends_the_pause_not_the_work():
    h, j = journey()
    j.received(t(9)).allocated(t(9), "res-a").started(t(9, 10), "res-a").paused(t(9, 40)).resolved(t(10), "res-a")

    fact = fold(h.envelopes)

    assert (fact.work_s, fact.paused_s) == (1800.0, 1200.0)


# --- order tolerance across services -----------------------------------------------------------------------------


def rich_history() -> History:
    """One request touched by every fold: re-triage, update, hand-offs, pauses, a reopen, SLA, escalations,
    rejection, confirmation, survey, feedback items and follow-ups."""
    h, j = journey()
    j.received(t(9), category="it > printer")
    triaged(j, t(9, 10), "P3")
    j.acknowledged(t(9, 20), respond_by=t(13, 10), within_target=True)
    updated(h, "r1", t(9, 30), category=("it > printer", "it > network"))
    triaged(j, t(9, 50), "P2", category="it > network")
    j.allocated(t(9, 40), "res-a")
    dispatched(h, "r1", dispatch.AllocationDeclined(request_id="r1", resource_id="res-a", reason="busy",
                                                    declined_at=t(9, 45)), t(9, 45))
    j.allocated(t(9, 50), "res-b", previous="res-a").started(t(10), "res-b").warned(t(10, 5), "response")
    j.paused(t(10, 30)).resumed(t(11)).allocated(t(11, 30), "res-a", previous="res-b")
    j.started(t(11, 40), "res-a").resolved(t(12), "res-a").escalated(t(12, 30), "team_lead")
    j.breached(t(13), "resolution")
    h.feedback("f1", "complaint", t(12, 10), respond_by=t(12, 10, day=5), request_id="r1")
    j.rejected(t(13, 5))
    closure(h, "r1", feedback.FollowUpScheduled(request_id="r1", reason="complaint", due_at=t(16),
                                                scheduled_at=t(13, 6)), t(13, 6))
    j.reopened(t(14), count=1).reopened(t(14), count=1)  # the second one is a redelivery
    j.started(t(14, 30), "res-a").resolved(t(15), "res-a").escalated(t(15, 5), "manager")
    j.confirmed(t(15, 30)).closed(t(15, 45)).surveyed(t(16), 4, 8, empathy=5, reliability=3)
    closure(h, "r1", feedback.FollowUpCompleted(request_id="r1", outcome="called", completed_by="agent-1",
                                                completed_at=t(16, 30)), t(16, 30))
    h.feedback("f2", "praise", t(16, 10), respond_by=t(16, 10, day=11), request_id="r1")
    return h


RICH = rich_history().envelopes
BY_SERVICE = {s: [e for e in RICH if e.service == s] for s in SERVICES}
CANONICAL = asdict(fold(RICH))


def interleave(order: Iterable[str]) -> list[Envelope]:
    """Take the next event of each named service in turn: every service's own order is kept."""
    queues = {s: iter(BY_SERVICE[s]) for s in SERVICES}
    return [next(queues[s]) for s in order]


def test_the_rich_journey_folds_to_the_expected_fact():
    fact = fold(RICH)

    assert (fact.priority, fact.category, fact.triaged_at) == ("P2", "it > network", t(9, 10))
    assert fact.path == ["res-a", "res-b", "res-a"] and fact.declines == 1
    assert fact.work_s == 30 * 60 + 30 * 60 + 20 * 60 + 30 * 60  # B 10:00-10:30, 11:00-11:30; A 11:40-12:00, 14:30-15:00
    assert fact.paused_s == 1800.0 and fact.pauses == 1
    assert (fact.reopens, fact.rejections, fact.complaints, fact.follow_ups, fact.follow_ups_done) == (1, 1, 1, 1, 1)
    assert (fact.escalations, fact.escalation_level) == (2, 2)
    assert (fact.response_warned, fact.resolution_breached) == (True, True)
    assert (fact.response_breached, fact.resolution_warned) == (False, False)
    assert measures(fact)["ping_pongs"] == 1 and measures(fact)["handoffs"] == 2


@pytest.mark.parametrize("first", SERVICES)
def test_the_same_streams_fold_to_the_same_fact_whichever_service_comes_first(first: str):
    for rest in ([s for s in SERVICES if s != first], [s for s in reversed(SERVICES) if s != first]):
        envelopes = [e for s in (first, *rest) for e in BY_SERVICE[s]]

        assert asdict(fold(envelopes)) == CANONICAL


def test_the_same_streams_fold_to_the_same_fact_in_many_seeded_interleavings():
    labels = [e.service for e in RICH]
    rng = random.Random(20240304)
    for _ in range(300):
        rng.shuffle(labels)

        assert asdict(fold(interleave(labels))) == CANONICAL


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.permutations([e.service for e in RICH]))
def test_any_interleaving_that_keeps_each_services_order_folds_to_the_same_fact(order: list[str]):
    assert asdict(fold(interleave(order))) == CANONICAL


# --- first times, latest triage, updates -------------------------------------------------------------------------


@pytest.mark.parametrize("first, second", [(True, False), (False, True)])
def test_the_first_acknowledgement_and_its_timeliness_are_kept(first: bool, second: bool):
    h, j = journey()
    j.received(t(9)).acknowledged(t(9, 20), respond_by=t(10), within_target=first)
    j.acknowledged(t(13), respond_by=t(10), within_target=second)

    fact = fold(h.envelopes)

    assert fact.acknowledged_at == t(9, 20) and fact.ack_in_time is first
    assert measures(fact)["response_s"] == 1200.0


def test_the_latest_triage_sets_priority_and_deadlines_but_the_first_sets_triaged_at():
    h, j = journey()
    j.received(t(9))
    j.triaged(t(9, 10), priority="P3", respond_by=t(9, day=5), resolve_by=t(9, day=7), received_at=t(9))
    j.triaged(t(10), priority="P1", respond_by=t(11), resolve_by=t(14), received_at=t(9), category="facilities")

    fact = fold(h.envelopes)

    assert (fact.priority, fact.emergency, fact.category) == ("P1", True, "facilities")
    assert (fact.respond_by, fact.resolve_by) == (t(11), t(14))
    assert fact.triaged_at == t(9, 10)
    assert measures(fact)["triage_s"] == 600.0


def test_the_earliest_received_time_wins_between_receipt_and_triage():
    h, j = journey()
    j.received(t(9, 5))
    triaged(j, t(9, 10), received_at=t(9))  # triage says the clocks run from 09:00

    assert fold(h.envelopes).received_at == t(9)


def test_a_request_update_changes_the_category():
    h, j = journey()
    j.received(t(9), category="it > printer")
    triaged(j, t(9, 10))
    updated(h, "r1", t(9, 30), category=("it > printer", "it > network"))

    fact = fold(h.envelopes)

    assert fact.category == "it > network"
    assert (fact.kind, fact.channel) == ("fault", "phone")  # not in the changes: untouched


def test_a_request_update_can_change_kind_and_channel_too():
    h, j = journey()
    j.received(t(9))
    updated(h, "r1", t(9, 30), kind=("fault", "request"), channel=("phone", "email"))

    fact = fold(h.envelopes)

    assert (fact.kind, fact.channel, fact.category) == ("request", "email", "it > printer")


# --- hand-offs and ping-pongs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, expected", [
    ([], 0),
    (["A"], 0),
    (["A", "A"], 0),
    (["A", "B"], 0),
    (["A", "B", "A"], 1),
    (["A", "B", "A", "B"], 2),
    (["A", "B", "C", "A"], 1),
])
def test_ping_pongs_count_allocations_back_to_an_earlier_holder(path: list[str], expected: int):
    assert ping_pongs(path) == expected


@pytest.mark.parametrize("path", [[], ["A"], ["A", "A"], ["A", "B"], ["A", "B", "A"], ["A", "B", "C", "A"]])
def test_handoffs_are_the_allocations_after_the_first(path: list[str]):
    fact = RequestFact("r1", path=list(path))

    assert measures(fact)["handoffs"] == max(len(path) - 1, 0)


def test_allocations_fold_into_the_path_and_its_ping_pongs():
    h, j = journey()
    j.allocated(t(9), "A").allocated(t(9, 10), "B").allocated(t(9, 20), "A").allocated(t(9, 30), "B")

    m = measures(fold(h.envelopes))

    assert (m["handoffs"], m["ping_pongs"]) == (3, 2)


# --- first-contact resolution ------------------------------------------------------------------------------------


def resolved_by_first(j: Journey) -> Journey:
    return j.received(t(9)).allocated(t(9, 10), "res-a").started(t(9, 20), "res-a").resolved(t(10), "res-a")


def test_first_contact_resolution_when_the_first_resource_resolves_it_alone():
    h, j = journey()
    resolved_by_first(j)

    assert measures(fold(h.envelopes))["fcr"] is True


def test_first_contact_resolution_still_holds_if_reallocated_to_the_same_resource():
    h, j = journey()
    j.received(t(9)).allocated(t(9, 10), "res-a").allocated(t(9, 15), "res-a").resolved(t(10), "res-a")

    assert measures(fold(h.envelopes))["fcr"] is True


def test_no_first_contact_resolution_when_another_resource_resolves_it():
    h, j = journey()
    j.received(t(9)).allocated(t(9, 10), "res-a").allocated(t(9, 30), "res-b", previous="res-a")
    j.resolved(t(10), "res-b")

    assert measures(fold(h.envelopes))["fcr"] is False


def test_no_first_contact_resolution_when_it_was_reopened():
    h, j = journey()
    resolved_by_first(j).reopened(t(11), count=1).resolved(t(12), "res-a")

    assert measures(fold(h.envelopes))["fcr"] is False


def test_no_first_contact_resolution_when_it_was_escalated():
    h, j = journey()
    resolved_by_first(j).escalated(t(10, 30), "team_lead")

    assert measures(fold(h.envelopes))["fcr"] is False


def test_no_first_contact_resolution_when_other_resources_held_it_in_between():
    h, j = journey()
    j.received(t(9)).allocated(t(9, 10), "res-a").allocated(t(9, 20), "res-b", previous="res-a")
    j.allocated(t(9, 30), "res-a", previous="res-b").resolved(t(10), "res-a")

    assert measures(fold(h.envelopes))["fcr"] is False


def test_no_first_contact_resolution_before_it_is_resolved():
    h, j = journey()
    j.received(t(9)).allocated(t(9, 10), "res-a").started(t(9, 20), "res-a")

    assert measures(fold(h.envelopes))["fcr"] is False


# --- SLA, escalation, reopens ------------------------------------------------------------------------------------


FLAGS = ("response_warned", "resolution_warned", "response_breached", "resolution_breached")


@pytest.mark.parametrize("outcome, clock, flag", [
    ("warned", "response", "response_warned"),
    ("warned", "resolution", "resolution_warned"),
    ("breached", "response", "response_breached"),
    ("breached", "resolution", "resolution_breached"),
])
def test_an_sla_event_sets_only_its_own_clocks_flag(outcome: str, clock: str, flag: str):
    h, j = journey()
    getattr(j, outcome)(t(10), clock)

    fact = fold(h.envelopes)

    assert {f: getattr(fact, f) for f in FLAGS} == {f: f == flag for f in FLAGS}


def test_an_sla_event_for_an_unknown_clock_sets_no_flag():
    h, j = journey()
    j.warned(t(10), "lunch").breached(t(11), "lunch")

    fact = fold(h.envelopes)

    assert not any(getattr(fact, f) for f in FLAGS)
    assert not hasattr(fact, "lunch_warned")


def test_the_escalation_level_keeps_the_highest_and_every_escalation_counts():
    h, j = journey()
    j.escalated(t(10), "team_lead").escalated(t(11), "manager").escalated(t(12), "team_lead")

    fact = fold(h.envelopes)

    assert (fact.escalations, fact.escalation_level) == (3, 2)


def test_a_single_team_lead_escalation_is_level_one():
    h, j = journey()
    j.escalated(t(10), "team_lead")

    assert fold(h.envelopes).escalation_level == 1


def test_reopens_take_the_highest_reopen_count_so_redeliveries_do_not_double_count():
    h, j = journey()
    j.reopened(t(10), count=1).reopened(t(10), count=1).reopened(t(12), count=2).reopened(t(10), count=1)

    assert fold(h.envelopes).reopens == 2


def test_declines_rejections_and_follow_ups_are_counted():
    h, j = journey()
    for minute in (5, 10):
        dispatched(h, "r1", dispatch.AllocationDeclined(request_id="r1", resource_id="res-a", reason="busy",
                                                        declined_at=t(9, minute)), t(9, minute))
    j.rejected(t(11)).rejected(t(12)).rejected(t(13))
    closure(h, "r1", feedback.FollowUpScheduled(request_id="r1", reason="low csat", due_at=t(17),
                                                scheduled_at=t(14)), t(14))

    fact = fold(h.envelopes)

    assert (fact.declines, fact.rejections, fact.follow_ups, fact.follow_ups_done) == (2, 3, 1, 0)


# --- withdrawn, merged, closed -----------------------------------------------------------------------------------


def test_a_withdrawn_request_has_ended_when_withdrawn():
    h, j = journey()
    j.received(t(9)).withdrawn(t(9, 30))

    fact = fold(h.envelopes)

    assert fact.withdrawn_at == t(9, 30)
    assert measures(fact)["ended_at"] == t(9, 30)


def test_a_merged_request_has_ended_when_merged_and_knows_where_it_went():
    h, j = journey()
    j.received(t(9)).merged(t(9, 45), into="r0")

    fact = fold(h.envelopes)

    assert (fact.merged_at, fact.merged_into) == (t(9, 45), "r0")
    assert measures(fact)["ended_at"] == t(9, 45)


@pytest.mark.parametrize("end, how", [("withdrawn", "withdrawn"), ("merged", "merged")])
def test_the_close_time_takes_precedence_over_withdrawal_or_merge(end: str, how: str):
    h, j = journey()
    j.received(t(9))
    if end == "withdrawn":
        j.withdrawn(t(9, 30))
    else:
        j.merged(t(9, 30), into="r0")
    j.closed(t(9, 40), how=how)

    fact = fold(h.envelopes)

    assert measures(fact)["ended_at"] == t(9, 40)
    assert fact.closed_how == how


# --- survey and complaints ---------------------------------------------------------------------------------------


def test_a_returned_survey_keeps_csat_nps_and_only_the_known_dimensions():
    h, j = journey()
    j.surveyed(t(16), 4, 9, empathy=5, reliability=3, speed=1, friendliness=2)

    fact = fold(h.envelopes)

    assert (fact.survey_returned_at, fact.csat, fact.nps) == (t(16), 4, 9)
    assert fact.dimensions == {"empathy": 5, "reliability": 3}


def test_a_returned_survey_keeps_all_five_known_dimensions():
    h, j = journey()
    j.surveyed(t(16), 5, None, **dict.fromkeys(DIMENSIONS, 4))

    fact = fold(h.envelopes)

    assert fact.nps is None
    assert fact.dimensions == {"reliability": 4, "responsiveness": 4, "assurance": 4, "empathy": 4, "tangibles": 4}


def test_only_complaints_count_as_complaints():
    h = History()
    h.feedback("f1", "complaint", t(10), respond_by=t(10, day=5), request_id="r1")
    h.feedback("f2", "praise", t(11), respond_by=t(11, day=11), request_id="r1")
    h.feedback("f3", "suggestion", t(12), respond_by=t(12, day=9), request_id="r1")
    h.feedback("f4", "complaint", t(13), respond_by=t(13, day=5), request_id="r1")

    assert fold(h.envelopes).complaints == 2


# --- feedback and resource facts ---------------------------------------------------------------------------------


def item(h: History, event: DomainEvent, at: datetime) -> None:
    h.record("feedback", f"feedback-{event.feedback_id}", event, at)


def test_a_feedback_fact_folds_receipt_acknowledgement_resolution_and_escalation():
    h = History()
    h.feedback("f1", "complaint", t(10), respond_by=t(10, day=5), request_id="r1")
    for at in (t(10, 30), t(10, 15)):  # a late redelivery of an earlier acknowledgement
        item(h, feedback.FeedbackAcknowledged(feedback_id="f1", subject_id="r1", acknowledged_by="agent-1",
                                              acknowledged_at=at), at)
    item(h, feedback.FeedbackEscalated(feedback_id="f1", subject_id="r1", reason="late", escalated_at=t(10, day=5)),
         t(10, day=5))
    h.feedback_resolved("f1", t(11, day=5), within_deadline=False, request_id="r1")

    fact = FeedbackFact("f1")
    for env in h.envelopes:
        fact.apply(typed(env), env.time)

    assert asdict(fact) == {
        "feedback_id": "f1", "kind": "complaint", "request_id": "r1", "received_at": t(10),
        "respond_by": t(10, day=5), "acknowledged_at": t(10, 15), "resolved_at": t(11, day=5),
        "within_deadline": False, "escalated": True,
    }


def test_a_feedback_fact_about_no_request_has_no_request_id():
    h = History()
    h.feedback("f2", "suggestion", t(10), respond_by=t(10, day=9))
    h.feedback_resolved("f2", t(12), within_deadline=True)

    fact = FeedbackFact("f2")
    for env in h.envelopes:
        fact.apply(typed(env), env.time)

    assert (fact.kind, fact.request_id, fact.resolved_at, fact.within_deadline) == ("suggestion", None, t(12), True)
    assert fact.acknowledged_at is None and fact.escalated is False


def test_a_resource_fact_folds_registration_and_updates_including_team():
    h = History()
    h.resource("res-a", t(8), team="north", capacity=2, name="Alice")
    h.record("dispatch", "resource-res-a", dispatch.ResourceUpdated(
        resource_id="res-a", changes={"team": "south", "capacity": 3, "skills": {"general": 4}}, reason="moved",
        updated_by="admin", updated_at=t(9)), t(9))
    h.record("dispatch", "resource-res-a", dispatch.ResourceAvailabilityChanged(
        resource_id="res-a", status="on_leave", reason="holiday", changed_by="admin", changed_at=t(10)), t(10))

    fact = ResourceFact("res-a")
    for env in h.envelopes:
        fact.apply(typed(env), env.time)

    assert asdict(fact) == {"resource_id": "res-a", "name": "Alice", "kind": "person", "team": "south", "zone": None,
                            "capacity": 3}


def test_a_resource_update_can_rename_and_rezone():
    fact = ResourceFact("res-a")
    fact.apply(dispatch.ResourceRegistered(
        resource_id="res-a", name="Alice", kind="person", skills={}, capacity=1, zone="z1", team="north",
        registered_by="admin", registered_at=t(8)), t(8))
    fact.apply(dispatch.ResourceUpdated(
        resource_id="res-a", changes={"name": "Alice B.", "zone": "z2"}, reason="married, moved", updated_by="admin",
        updated_at=t(9)), t(9))

    assert (fact.name, fact.zone, fact.team, fact.capacity) == ("Alice B.", "z2", "north", 1)


# --- routes ------------------------------------------------------------------------------------------------------


def routed(service: str, event: DomainEvent) -> list:
    return routes(typed(History().record(service, "stream-1", event, t(9))))


def test_resource_events_route_to_the_resource_by_subject():
    registered = dispatch.ResourceRegistered(resource_id="res-a", name="Alice", kind="person", skills={}, capacity=1,
                                             registered_by="admin", registered_at=t(8))
    changed = dispatch.ResourceUpdated(resource_id="res-a", changes={"team": "x"}, reason="r", updated_by="admin",
                                       updated_at=t(8))

    assert routed("dispatch", registered) == [(RESOURCES, "res-a")]
    assert routed("dispatch", changed) == [(RESOURCES, "res-a")]


def test_feedback_received_about_a_request_routes_to_the_item_and_the_request():
    event = feedback.FeedbackReceived(feedback_id="f1", subject_id="r1", kind="complaint", request_id="r1", text="x",
                                      given_by="c1", respond_by=t(9, day=5), received_at=t(9))

    assert routed("feedback", event) == [(FEEDBACK, "f1"), (REQUESTS, "r1")]


def test_feedback_received_about_no_request_routes_to_the_item_only():
    event = feedback.FeedbackReceived(feedback_id="f2", subject_id="f2", kind="suggestion", text="x", given_by="c1",
                                      respond_by=t(9, day=9), received_at=t(9))

    assert routed("feedback", event) == [(FEEDBACK, "f2")]


@pytest.mark.parametrize("event", [
    feedback.FeedbackAcknowledged(feedback_id="f1", subject_id="r1", acknowledged_by="a", acknowledged_at=t(9)),
    feedback.FeedbackResolved(feedback_id="f1", subject_id="r1", outcome="o", resolved_by="a", within_deadline=True,
                              resolved_at=t(9)),
    feedback.FeedbackEscalated(feedback_id="f1", subject_id="r1", reason="late", escalated_at=t(9)),
], ids=lambda e: type(e).__name__)
def test_later_feedback_item_events_route_to_the_item_by_feedback_id(event: DomainEvent):
    assert routed("feedback", event) == [(FEEDBACK, "f1")]


def test_request_events_route_to_the_request():
    event = dispatch.WorkStarted(request_id="r1", resource_id="res-a", started_at=t(9))

    assert routed("dispatch", event) == [(REQUESTS, "r1")]


@pytest.mark.parametrize("service, event", [
    ("feedback", feedback.ImprovementActionOpened(action_id="act-1", title="t", plan="p", owner="o", due_at=t(9),
                                                  answers=["f1"], opened_by="o", opened_at=t(9))),
    ("dispatch", dispatch.ResourceAvailabilityChanged(resource_id="res-a", status="on_leave", reason="r",
                                                      changed_by="a", changed_at=t(9))),
    ("feedback", feedback.FeedbackInvestigated(feedback_id="f1", subject_id="r1", investigator="a", findings="f",
                                               investigated_at=t(9))),
    ("feedback", feedback.SurveySent(request_id="r1", survey_id="s1", expires_at=t(9, day=18), sent_at=t(9))),
], ids=lambda v: type(v).__name__ if not isinstance(v, str) else v)
def test_events_no_fact_folds_route_nowhere(service: str, event: DomainEvent):
    assert routed(service, event) == []


# --- events no fact folds ---------------------------------------------------------------------------------


def test_service_events_that_say_nothing_about_the_fact_are_ignored():
    h = happy_path()
    before = asdict(fold(h.envelopes))
    closure(h, "r1", feedback.SurveySent(request_id="r1", survey_id="s1", expires_at=t(9, day=18), sent_at=t(14)),
            t(14))
    dispatched(h, "r1", dispatch.WorkNoteAdded(request_id="r1", author="res-a", note="n", added_at=t(14)), t(14))
    # As a v1 record: every version of JobReopened reads one (later ones upcast it).
    reopened = decode("servicetrail.dispatch.JobReopened.v1", {"request_id": "r1", "reason": "r", "reopened_at": t(14)})
    dispatched(h, "r1", reopened, t(14))
    h.record("intake", "request-r1", intake.ContactRecorded(
        request_id="r1", via="phone", direction="out", summary="s", recorded_by="a", contacted_at=t(14)), t(14))

    assert asdict(fold(h.envelopes)) == before


def test_every_folded_event_is_a_published_contract():
    published = {cls for reg in (intake.registry, dispatch.registry, feedback.registry) for cls in reg.classes()}

    assert set(FOLDS) | FEEDBACK_EVENTS | RESOURCE_EVENTS <= published


def test_a_complaint_withdrawn_with_its_request_ends_neither_in_time_nor_late():
    h = History()
    h.feedback("f9", "complaint", t(10), respond_by=t(10, day=1), request_id="r9", via="intake")
    withdrawn = feedback.FeedbackWithdrawn(feedback_id="f9", subject_id="r9", reason="request withdrawn",
                                           withdrawn_at=t(12))
    item(h, withdrawn, t(12))
    fact = FeedbackFact("f9")
    for env in h.envelopes:
        fact.apply(typed(env), env.time)
    assert (fact.resolved_at, fact.within_deadline, fact.escalated) == (t(12), None, False)  # ended: never overdue
    assert routed("feedback", withdrawn) == [(FEEDBACK, "f9")]
