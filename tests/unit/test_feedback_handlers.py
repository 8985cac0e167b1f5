"""Feedback's command handlers through the bus, on a fake unit of work (in-memory streams; no
database): what each command records and answers, and the bus's idempotency and retries."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from services.feedback.domain import commands as cmd
from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.closure import Closure
from services.feedback.domain.items import FeedbackItem
from services.feedback.domain.policy import Policy, RequestFacts
from services.feedback.service_layer.handlers import HANDLERS
from services.feedback.service_layer.unit_of_work import FeedbackUnitOfWork
from shared.aggregate import IdSource
from shared.clock import FrozenClock
from shared.contracts import feedback as ev
from shared.errors import Invalid, InvalidTransition, NotFound
from shared.eventstore import ConcurrencyError
from shared.messagebus import MessageBus, inject
from tests.support.unit_of_work import FakeStore, FakeUnitOfWork, Key

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
AGENT, ANN = cmd.Caller("desk-1"), cmd.Caller("cust-ann", is_customer=True)


class FakeFeedbackUnitOfWork(FakeUnitOfWork, FeedbackUnitOfWork):
    def __init__(self, world: "World", ids: IdSource) -> None:
        super().__init__(world.store, ids)
        self.world = world

    def _open(self) -> None:
        self.closures = self.repository(Closure, "closure")
        self.items = self.repository(FeedbackItem, "feedback")
        self.actions = self.repository(ImprovementAction, "action")

    async def request_facts(self, request_id: str) -> RequestFacts:
        return self.world.facts.get(request_id, RequestFacts())


@dataclass
class World:
    store: FakeStore = field(default_factory=FakeStore)
    facts: dict[str, RequestFacts] = field(default_factory=dict)
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(NOW))
    racers: list[Any] = field(default_factory=list)  # run once each, just before the next unit saves
    seen_events: list[Any] = field(default_factory=list)

    def unit(self, ids: IdSource) -> FakeFeedbackUnitOfWork:
        world = self

        class Raced(FakeFeedbackUnitOfWork):
            async def save(self) -> None:
                if world.racers:  # another command commits between this one's load and its save
                    world.racers.pop(0)(world.store)
                await super().save()

        return Raced(self, ids)

    @property
    def bus(self) -> MessageBus:
        async def seen(event: Any) -> None:  # noqa: ANN401
            self.seen_events.append(event)

        return MessageBus(self.unit, inject(HANDLERS, clock=self.clock, policy=Policy()),
                          event_handlers={ev.FeedbackResolved: [seen]})


@pytest.fixture
def world() -> World:
    return World(facts={"r-1": RequestFacts("cust-ann", "P1", "fault"), "r-2": RequestFacts("cust-bob", "P3", "fault")})


async def item(world: World, kind: str = "complaint") -> str:
    answer = await world.bus.handle(cmd.GiveFeedback(kind, "nobody came", ANN))
    return answer.body.id


async def awaiting(world: World, request_id: str = "r-1") -> None:
    await world.bus.handle(cmd.RequestConfirmation(request_id, "fixed", "new drum"))


async def test_feedback_gets_its_kinds_deadline_and_the_answer_its_version(world):
    answer = await world.bus.handle(cmd.GiveFeedback("suggestion", "text me", ANN, "r-1"), view=lambda i: i, status=201)
    given = answer.body
    assert (answer.status, given.version, given.respond_by, given.subject_id) == (201, 1, NOW + timedelta(days=5), "r-1")
    assert world.store.names(f"feedback-{given.id}") == ["FeedbackReceived"]
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.GiveFeedback("complaint", "x", ANN, "r-2"))  # not Ann's request
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.GiveFeedback("complaint", "x", AGENT, "r-unknown"))


async def test_an_item_goes_acknowledged_investigating_resolved_each_answer_at_its_version(world):
    item_id = await item(world)
    with pytest.raises(InvalidTransition, match=f"cannot resolve feedback {item_id}: it is open"):
        await world.bus.handle(cmd.ResolveFeedback(item_id, "desk-1", "sorted"))
    versions = [(await world.bus.handle(c)).body.version for c in (
        cmd.AcknowledgeFeedback(item_id, "desk-1", "on it"), cmd.InvestigateFeedback(item_id, "desk-1", "late van"),
        cmd.ResolveFeedback(item_id, "desk-1", "rebooked"))]
    assert versions == [2, 3, 4]
    assert world.store.names(f"feedback-{item_id}")[1:] == ["FeedbackAcknowledged", "FeedbackInvestigated",
                                                            "FeedbackResolved"]
    assert [type(e).__name__ for e in world.seen_events] == ["FeedbackResolved"]  # reacted to after commit
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.AcknowledgeFeedback("no-such-item", "desk-1"))


async def test_a_retried_command_gets_its_first_answer_and_records_nothing_twice(world):
    item_id = await item(world)
    key = Key(f"ack:desk-1:/v1/feedback/{item_id}/acknowledge", "k-1")
    first = await world.bus.handle(cmd.AcknowledgeFeedback(item_id, "desk-1"), key, view=lambda i: i.version)
    again = await world.bus.handle(cmd.AcknowledgeFeedback(item_id, "desk-1"), key, view=lambda i: i.version)
    assert (first.body, first.replayed, again.body, again.replayed) == (2, False, 2, True)
    assert world.store.names(f"feedback-{item_id}") == ["FeedbackReceived", "FeedbackAcknowledged"]
    with pytest.raises(Invalid) as refused:
        await world.bus.handle(cmd.AcknowledgeFeedback(item_id, "desk-1", "other"), Key(key.scope, "k-1", "body-2"))
    assert refused.value.field == "Idempotency-Key"


async def test_a_command_recorded_but_not_answered_yet_answers_from_the_stream_without_a_409(world):
    """A retry racing its first attempt finds the events, not the answer: it must not apply again."""
    item_id = await item(world)
    key = Key("ack:desk-1", "k-2")
    await world.bus.handle(cmd.AcknowledgeFeedback(item_id, "desk-1"), key)
    world.store.answers.clear()
    again = await world.bus.handle(cmd.AcknowledgeFeedback(item_id, "desk-1"), key, view=lambda i: (i.status, i.version))
    assert again.body == ("acknowledged", 2) and not again.replayed
    assert world.store.names(f"feedback-{item_id}").count("FeedbackAcknowledged") == 1


async def test_a_lost_race_runs_again_on_the_newer_state(world):
    item_id = await item(world)
    await world.bus.handle(cmd.AcknowledgeFeedback(item_id, "desk-1"))

    def someone_investigates(store: FakeStore) -> None:
        store.streams[f"feedback-{item_id}"].append(("racer-1", ev.FeedbackInvestigated(
            feedback_id=item_id, subject_id=item_id, investigator="desk-2", findings="late", investigated_at=NOW)))

    world.racers.append(someone_investigates)
    resolved = await world.bus.handle(cmd.ResolveFeedback(item_id, "desk-1", "rebooked"))
    assert resolved.body.version == 4
    assert world.store.names(f"feedback-{item_id}")[-2:] == ["FeedbackInvestigated", "FeedbackResolved"]


async def test_losing_every_race_is_the_last_conflict(world):
    item_id = await item(world)
    bus = MessageBus(world.unit, inject(HANDLERS, clock=world.clock, policy=Policy()), attempts=2)

    def racer(store: FakeStore) -> None:
        stream = store.streams[f"feedback-{item_id}"]
        stream.append((f"racer-{len(stream)}", ev.FeedbackEscalated(feedback_id=item_id, subject_id=item_id,
                                                                    reason="late", escalated_at=NOW)))

    world.racers += [racer, racer]
    with pytest.raises(ConcurrencyError):
        await bus.handle(cmd.AcknowledgeFeedback(item_id, "desk-1"))
    assert "FeedbackAcknowledged" not in world.store.names(f"feedback-{item_id}")


async def test_the_customer_confirms_their_own_request_and_a_p1_gets_a_call_back(world):
    await awaiting(world)
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.ConfirmResolution("r-1", cmd.Caller("cust-bob", is_customer=True)))
    closure = (await world.bus.handle(cmd.ConfirmResolution("r-1", ANN))).body
    assert (closure.status, closure.version, closure.survey_id is not None) == ("closed", 5, True)
    assert world.store.names("closure-r-1") == ["ConfirmationRequested", "ResolutionConfirmed", "RequestClosed",
                                                "SurveySent", "FollowUpScheduled"]
    done = await world.bus.handle(cmd.CompleteFollowUp("r-1", "happy", AGENT))
    assert done.body.follow_up_due is None and done.body.version == 6


async def test_a_rejection_needs_a_reason(world):
    await awaiting(world, "r-2")
    with pytest.raises(Invalid) as refused:
        await world.bus.handle(cmd.RejectResolution("r-2", " ", AGENT))
    assert refused.value.field == "reason"
    rejected = (await world.bus.handle(cmd.RejectResolution("r-2", "still broken", AGENT))).body
    assert (rejected.status, rejected.rejections, rejected.version) == ("open", 1, 2)


async def test_silence_closes_with_a_survey_only_once_the_wait_is_over(world):
    await awaiting(world, "r-2")
    world.clock.set(NOW + timedelta(hours=71))
    assert (await world.bus.handle(cmd.CloseUnanswered("r-2"))).body.status == "awaiting_confirmation"
    world.clock.set(NOW + timedelta(hours=73))
    closed = (await world.bus.handle(cmd.CloseUnanswered("r-2"))).body
    assert closed.status == "closed" and world.store.names("closure-r-2")[1:] == ["RequestClosed", "SurveySent"]


async def test_a_low_survey_score_schedules_a_call_back(world):
    await awaiting(world, "r-2")
    closure = (await world.bus.handle(cmd.ConfirmResolution("r-2", AGENT))).body
    with pytest.raises(InvalidTransition):
        await world.bus.handle(cmd.ReturnSurvey("r-2", "forged", 5))
    await world.bus.handle(cmd.ReturnSurvey("r-2", closure.survey_id, 2, 3, {"empathy": 1}, "slow"))
    assert world.store.names("closure-r-2")[-2:] == ["SurveyReturned", "FollowUpScheduled"]
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.ReturnSurvey("r-none", "s", 4))


async def test_a_late_complaint_escalates_once(world):
    item_id = await item(world)
    world.clock.set(NOW + timedelta(hours=25))
    for _ in range(2):
        await world.bus.handle(cmd.EscalateLateComplaint(item_id))
    assert world.store.names(f"feedback-{item_id}") == ["FeedbackReceived", "FeedbackEscalated"]


async def test_an_action_answers_existing_feedback_only_and_goes_round_its_cycle(world):
    item_id = await item(world, "suggestion")
    due = NOW + timedelta(days=30)
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.OpenImprovementAction("SMS", "text", "lead-1", due, "desk-1", ("ghost",)))
    assert not [s for s in world.store.streams if s.startswith("action-")]
    action = (await world.bus.handle(cmd.OpenImprovementAction("SMS", "text", "lead-1", due, "desk-1", (item_id,)))).body
    progressed = (await world.bus.handle(cmd.ProgressImprovementAction(action.id, "do", "pilot", "desk-1"))).body
    assert (action.version, progressed.version, progressed.stage) == (1, 2, "do")
    assert world.store.names(f"feedback-{item_id}") == ["FeedbackReceived"]  # read, not rewritten


async def test_in_a_joined_unit_a_redelivered_fact_records_nothing_twice(world):
    for _ in range(2):  # the same consumed event: the same seed, the same event ids
        closure = await world.bus.handle_in(world.unit(IdSource("feedback:event-1")),
                                            cmd.RequestConfirmation("r-1", "fixed", "new drum"))
    assert closure.status == "awaiting_confirmation"
    assert world.store.names("closure-r-1") == ["ConfirmationRequested"]
    await world.bus.handle_in(world.unit(IdSource("feedback:event-2")), cmd.CloseWithoutSurvey("r-2", "withdrawn"))
    assert world.store.names("closure-r-2") == ["RequestClosed"]


async def test_a_command_without_a_handler_is_refused(world):
    with pytest.raises(TypeError, match="no handler for Caller"):
        await world.bus.handle(AGENT)


async def test_a_complaint_taken_at_intake_is_raised_once_answered_with_it_and_its_outcome_ends_the_request(world):
    world.facts["r-9"] = RequestFacts("cust-ann", "P3", "complaint", dispatched=False)
    received_at = NOW - timedelta(hours=2)
    raise_it = cmd.RaiseComplaint("r-9", "cust-ann", "Nobody listened", received_at)
    raised = (await world.bus.handle(raise_it)).body
    assert (raised.id, raised.kind, raised.via, raised.respond_by) == (
        ev.complaint_taken_at_intake("r-9"), "complaint", "intake", received_at + timedelta(hours=24))
    await world.bus.handle(raise_it)  # a redelivered RequestReceived
    assert world.store.names(f"feedback-{raised.id}") == ["FeedbackReceived"]
    await world.bus.handle(cmd.AcknowledgeRaisedComplaint("r-9", "agent-2", "sorry", NOW))
    await world.bus.handle(cmd.AcknowledgeRaisedComplaint("r-9", "agent-2", "sorry", NOW))  # once only
    await world.bus.handle(cmd.ResolveFeedback(raised.id, "agent-2", "apologised"))
    assert world.store.names(f"feedback-{raised.id}") == ["FeedbackReceived", "FeedbackAcknowledged", "FeedbackResolved"]
    assert world.store.names("closure-r-9") == ["RequestClosed"]


async def test_the_outcome_of_a_complaint_dispatch_works_leaves_the_request_to_its_job(world):
    world.facts["r-8"] = RequestFacts("cust-ann", "P3", "complaint", dispatched=True)
    raised = (await world.bus.handle(cmd.RaiseComplaint("r-8", "cust-ann", "Broken hatch", NOW))).body
    await world.bus.handle(cmd.AcknowledgeRaisedComplaint("r-8", "agent-2", None, NOW))
    await world.bus.handle(cmd.ResolveFeedback(raised.id, "agent-2", "refund agreed"))
    assert world.store.names("closure-r-8") == []


async def test_a_complaint_taken_at_intake_is_withdrawn_with_its_request_and_never_escalates(world):
    world.facts["r-7"] = RequestFacts("cust-ann", "P3", "complaint", dispatched=False)
    raised = (await world.bus.handle(cmd.RaiseComplaint("r-7", "cust-ann", "Queue too long", NOW))).body
    await world.bus.handle(cmd.CloseWithoutSurvey("r-7", "withdrawn"))
    assert world.store.names(f"feedback-{raised.id}") == ["FeedbackReceived", "FeedbackWithdrawn"]
    world.clock.set(NOW + timedelta(days=2))
    withdrawn = (await world.bus.handle(cmd.EscalateLateComplaint(raised.id))).body
    assert (withdrawn.status, withdrawn.escalated) == ("withdrawn", False)
    with pytest.raises(InvalidTransition, match="withdrawn"):
        await world.bus.handle(cmd.AcknowledgeFeedback(raised.id, "agent-2"))
    await world.bus.handle(cmd.CloseWithoutSurvey("r-7", "withdrawn"))  # redelivered: nothing more
    assert world.store.names(f"feedback-{raised.id}") == ["FeedbackReceived", "FeedbackWithdrawn"]


async def test_whose_personal_data_each_aggregate_holds_is_the_requests_customer_else_the_giver(world):
    # The repository seals the personal fields of what they record under this customer's key.
    about_r1 = (await world.bus.handle(cmd.GiveFeedback("complaint", "rude on the phone", AGENT, "r-1"))).body
    own = (await world.bus.handle(cmd.GiveFeedback("praise", "lovely", ANN))).body
    assert (about_r1.data_subject, own.data_subject) == ("cust-ann", "cust-ann")
    staff = (await world.bus.handle(cmd.GiveFeedback("suggestion", "longer hours", AGENT))).body
    assert staff.data_subject == "desk-1"  # about no request: the words are the giver's
    await awaiting(world, "r-2")
    rejected = (await world.bus.handle(cmd.RejectResolution("r-2", "still broken", AGENT))).body
    assert rejected.data_subject == "cust-bob"  # the customer's reason, whoever passed it on
    await awaiting(world, "r-2")
    closure = (await world.bus.handle(cmd.ConfirmResolution("r-2", AGENT))).body
    returned = (await world.bus.handle(cmd.ReturnSurvey("r-2", closure.survey_id, 4, None, {}, "kind"))).body
    assert returned.data_subject == "cust-bob"
