"""Intake's command handlers through the bus, on a fake unit of work (in-memory streams; no
database): what each command records and answers, who may send it, idempotent retries, a lost
race, and the 409 that names the state the lifecycle table forbids it in."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from services.intake.domain import commands as cmd
from services.intake.domain.erasure import Erasure
from services.intake.domain.model import Rules, ServiceRequest
from services.intake.domain.priority import Level
from services.intake.service_layer.handlers import HANDLERS
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.aggregate import IdSource
from shared.clock import FrozenClock
from shared.errors import Forbidden, Invalid, InvalidTransition, NotFound
from shared.eventstore import ConcurrencyError
from shared.messagebus import MessageBus, inject
from shared.shredding.keystore import UnknownCustomer
from tests.support.unit_of_work import FakeStore, FakeUnitOfWork, Key

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
ANN, BOB = cmd.Caller("cust-ann", is_customer=True), cmd.Caller("cust-bob", is_customer=True)
DESK = cmd.Caller("agent-1")


class FakeIntakeUnitOfWork(FakeUnitOfWork, IntakeUnitOfWork):
    def _open(self) -> None:
        self.requests = self.repository(ServiceRequest, "request")
        self.erasures = self.repository(Erasure, "customer")


@dataclass
class World:
    store: FakeStore = field(default_factory=FakeStore)
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(NOW))
    racers: list[Any] = field(default_factory=list)  # run once each, just before the next unit saves

    def unit(self, ids: IdSource) -> FakeIntakeUnitOfWork:
        world = self

        class Raced(FakeIntakeUnitOfWork):
            async def save(self) -> None:
                if world.racers:
                    world.racers.pop(0)(world.store)
                await super().save()

        return Raced(self.store, ids)

    open_requests: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # the read model's
    keys: dict[str, bool] = field(default_factory=lambda: {"cust-ann": True, "cust-bob": True})  # live?

    async def erase_key(self, customer_id: str) -> bool:  # as KeyRing.erase
        if customer_id not in self.keys:
            raise UnknownCustomer(customer_id)
        was_live, self.keys[customer_id] = self.keys[customer_id], False
        return was_live

    async def load(self, customer_id: str) -> list[tuple[str, str, str]]:  # as BatchLoader.load
        return self.open_requests.get(customer_id, [])

    @property
    def bus(self) -> MessageBus:
        return MessageBus(self.unit, inject(HANDLERS, clock=self.clock, rules=Rules(), open_requests=self,
                                            erase_key=self.erase_key))

    def submitted(self, request_id: str, customer: str = "cust-ann") -> None:
        request = ServiceRequest.submit(request_id, cmd.SubmitRequest(
            customer=cmd.CustomerDetails(id=customer, name="Ann"), channel="phone", kind="fault",
            title="Printer jams", description="Every page", urgency=Level.medium, impact=Level.medium,
            taken_by="agent-1", category="fault"), NOW, Rules())
        self.store.streams[f"request-{request_id}"] = [(f"{request_id}-e{n}", e) for n, e in
                                                       enumerate(request.take_pending())]


@pytest.fixture
def world() -> World:
    w = World()
    w.submitted("r-1")
    w.submitted("r-2", "cust-bob")
    return w


def submission(customer: str = "cust-ann", caller: cmd.Caller = DESK, title: str = "Printer jams") -> cmd.SubmitRequest:
    return cmd.SubmitRequest(customer=cmd.CustomerDetails(id=customer, name="Ann"), channel="phone", kind="fault",
                             title=title, description="Every page", urgency=Level.medium, impact=Level.medium,
                             taken_by=caller.id, category="fault", caller=caller)


async def test_a_submit_records_the_request_triaged_and_points_out_a_similar_open_one(world):
    world.open_requests["cust-ann"] = [("r-1", "Printer jams", "Every page"), ("r-9", "Lights out", "Floor 3")]
    answer = await world.bus.handle(submission())
    submitted = answer.body
    assert (answer.status, submitted.request.version, submitted.request.customer_id) == (200, 2, "cust-ann")
    assert world.store.names(f"request-{submitted.request.id}") == ["RequestReceived", "RequestTriaged"]
    assert [d["id"] for d in submitted.possible_duplicates] == ["r-1"]


async def test_a_retried_submit_gets_its_first_answer_and_another_body_under_its_key_is_422(world):
    key = Key("submit:agent-1:/v1/requests", "k-s")
    first = await world.bus.handle(submission(), key, view=lambda r: r.request.id, status=201)
    world.clock.advance(timedelta(minutes=1))
    again = await world.bus.handle(submission(), key, view=lambda r: r.request.id, status=201)
    assert (again.status, again.body, again.replayed) == (201, first.body, True)
    assert [k for k in world.store.streams if k.startswith("request-")] == ["request-r-1", "request-r-2",
                                                                           f"request-{first.body}"]
    with pytest.raises(Invalid) as refused:
        await world.bus.handle(submission(title="Copier jams"), Key(key.scope, "k-s", "body-2"))
    assert refused.value.field == "Idempotency-Key"


async def test_customers_submit_for_themselves_only_the_desk_for_anyone(world):
    with pytest.raises(Forbidden):
        await world.bus.handle(submission("cust-bob", ANN))
    assert len(world.store.streams) == 2  # nothing recorded
    mine = await world.bus.handle(submission("cust-ann", ANN), view=lambda r: r.request.customer_id)
    theirs = await world.bus.handle(submission("cust-bob", DESK), view=lambda r: r.request.customer_id)
    assert (mine.body, theirs.body) == ("cust-ann", "cust-bob")


async def test_acknowledging_records_it_and_answers_the_request_at_its_new_version(world):
    answer = await world.bus.handle(cmd.Acknowledge("r-1", "agent-1", "on it"))
    assert (answer.status, answer.body.version, answer.body.status.value) == (200, 3, "acknowledged")
    assert world.store.names("request-r-1")[-1] == "RequestAcknowledged"
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.Acknowledge("r-unknown", "agent-1"))


async def test_a_retried_command_gets_its_first_answer_and_records_nothing_twice(world):
    key = Key("acknowledge:agent-1:/v1/requests/r-1/acknowledge", "k-1")
    first = await world.bus.handle(cmd.Acknowledge("r-1", "agent-1"), key, view=lambda r: r.version)
    again = await world.bus.handle(cmd.Acknowledge("r-1", "agent-1"), key, view=lambda r: r.version)
    assert (first.body, first.replayed, again.body, again.replayed) == (3, False, 3, True)
    assert world.store.names("request-r-1").count("RequestAcknowledged") == 1
    with pytest.raises(Invalid) as refused:
        await world.bus.handle(cmd.Acknowledge("r-1", "agent-1", "other"), Key(key.scope, "k-1", "body-2"))
    assert refused.value.field == "Idempotency-Key"


async def test_a_command_recorded_before_its_answer_was_kept_answers_from_the_stream(world):
    key = Key("withdraw:cust-ann:/v1/requests/r-1/withdraw", "k-2")
    await world.bus.handle(cmd.Withdraw("r-1", "cust-ann", "fixed", ANN), key)
    world.store.answers.clear()  # a crash between the append and the kept answer
    again = await world.bus.handle(cmd.Withdraw("r-1", "cust-ann", "fixed", ANN), key, view=lambda r: r.status.value)
    assert again.body == "withdrawn"
    assert world.store.names("request-r-1").count("RequestWithdrawn") == 1


async def test_what_the_table_forbids_is_a_409_naming_the_state(world):
    await world.bus.handle(cmd.Withdraw("r-1", "cust-ann", "fixed", ANN))
    for c in (cmd.Acknowledge("r-1", "agent-1"), cmd.Retriage("r-1", "agent-1", "worse", Level.high, Level.high),
              cmd.Merge("r-1", "r-2", "agent-1", "dup"), cmd.Withdraw("r-1", "agent-1", "again")):
        with pytest.raises(InvalidTransition, match="it is withdrawn"):
            await world.bus.handle(c)


async def test_customers_change_only_their_own_requests_the_desk_any(world):
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.Withdraw("r-2", "cust-ann", "not mine", ANN))
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.UpdateRequest("r-2", "cust-ann", "typo", {"title": "x"}, ANN))
    assert world.store.names("request-r-2")[-1] == "RequestTriaged"
    updated = await world.bus.handle(cmd.UpdateRequest("r-2", "cust-bob", "typo", {"title": "Copier"}, BOB))
    assert updated.body.version == 3
    withdrawn = await world.bus.handle(cmd.Withdraw("r-2", "agent-1", "done", DESK))
    assert withdrawn.body.status.value == "withdrawn"


async def test_merge_needs_a_target_that_exists(world):
    with pytest.raises(NotFound, match="to merge into"):
        await world.bus.handle(cmd.Merge("r-1", "r-none", "agent-1", "dup"))
    world.submitted("r-3")
    merged = await world.bus.handle(cmd.Merge("r-3", "r-1", "agent-1", "dup"))
    assert merged.body.status.value == "merged"
    assert world.store.names("request-r-1")[-1] == "RequestTriaged"  # the target records nothing


async def test_a_lost_race_is_run_again_on_the_newer_state(world):
    def racer(store: FakeStore) -> None:
        other = ServiceRequest.rehydrate(store.events("request-r-1"), len(store.streams["request-r-1"]))
        other.record_contact(cmd.RecordContact("r-1", "agent-2", "phone", "outbound", "called"), NOW)
        store.streams["request-r-1"] += [(f"other-{len(store.streams['request-r-1'])}", e)
                                         for e in other.take_pending()]

    world.racers.append(racer)
    answer = await world.bus.handle(cmd.ConfirmNeed("r-1", "agent-1", "a new drum"))
    assert answer.body.version == 4
    assert world.store.names("request-r-1")[2:] == ["ContactRecorded", "NeedConfirmed"]
    world.racers.extend([racer] * 50)
    with pytest.raises(ConcurrencyError):
        await world.bus.handle(cmd.ConfirmNeed("r-1", "agent-1", "again"))


async def test_facts_move_the_request_once_and_unknown_requests_are_let_be(world):
    fact = cmd.FollowFact("r-1", "dispatch.ResourceAllocated", "dispatch.ResourceAllocated.v1", "e-9",
                          NOW + timedelta(minutes=5), "tech-1")
    for _ in range(2):  # the consumer sees the record twice
        await world.bus.handle_in(world.unit(IdSource("intake:e-9")), fact)
    assert world.store.names("request-r-1").count("RequestProgressed") == 1
    assert await world.bus.handle_in(world.unit(IdSource("intake:e-10")),
                                     cmd.FollowFact("r-none", fact.fact, fact.cause, "e-10", NOW)) is None


async def test_a_rejection_reopens_a_resolved_request_and_is_ignored_on_one_no_longer_open(world):
    await world.bus.handle(cmd.Withdraw("r-1", "agent-1", "gone"))
    await world.bus.handle_in(world.unit(IdSource("intake:e-11")), cmd.Reopen("r-1", "no", NOW))
    assert world.store.names("request-r-1")[-1] == "RequestWithdrawn"



async def test_an_erasure_destroys_the_key_and_is_recorded_once_however_often_asked(world: World):
    first = (await world.bus.handle(cmd.EraseCustomer("cust-ann", "admin-1"))).body
    assert (first.customer_id, first.erased_by, first.erased_at) == ("cust-ann", "admin-1", NOW)
    assert world.keys["cust-ann"] is False
    world.clock.advance(timedelta(hours=1))
    again = (await world.bus.handle(cmd.EraseCustomer("cust-ann", "admin-2"))).body
    assert (again.erased_by, again.erased_at) == ("admin-1", NOW)  # the first erasure, unchanged
    assert [type(e).__name__ for _, e in world.store.streams["customer-cust-ann"]] == ["CustomerErased"]
    assert world.keys["cust-bob"] is True


async def test_an_erasure_the_key_store_did_but_never_recorded_is_recorded_on_the_retry(world: World):
    world.keys["cust-ann"] = False  # the key went, then the process died before the record
    erased = (await world.bus.handle(cmd.EraseCustomer("cust-ann", "admin-1"))).body
    assert erased.erased_by == "admin-1" and len(world.store.streams["customer-cust-ann"]) == 1


async def test_a_customer_the_key_store_never_knew_is_not_found(world: World):
    with pytest.raises(NotFound):
        await world.bus.handle(cmd.EraseCustomer("cust-nobody", "admin-1"))
    assert "customer-cust-nobody" not in world.store.streams
