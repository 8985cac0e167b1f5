"""Contract tests (issue 12): analytics folds the records the producing services' own code makes.

Each service's aggregates record their events as in production (intake's ServiceRequest, dispatch's
Job and Resource, feedback's Closure and FeedbackItem), and its repository turns them into the
envelopes it appends and publishes. Analytics takes each as its consumer runner hands it over
(decoded by its full ce_type), archives it with its real archiver and folds the archive with its
projector on real PostgreSQL. Then: an archived row of an older contract version still folds, and
one of a version newer than this code (or that does not fit its contract) is skipped and counted.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from services.analytics.adapters.archive import Archive
from services.analytics.adapters.fact_tables import FEEDBACK, REQUESTS, RESOURCES, FactTables
from services.analytics.bootstrap import MIGRATIONS
from services.analytics.entrypoints.consumers import archiver
from services.analytics.service_layer.projector import FactProjector
from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import Resource
from services.feedback.domain.closure import Closure
from services.feedback.domain.items import FeedbackItem
from services.intake.domain import commands as cmd
from services.intake.domain.model import Rules, ServiceRequest
from services.intake.domain.priority import Level
from shared.aggregate import Aggregate
from shared.clock import FrozenClock
from shared.contracts import decoded, dispatch, feedback, intake
from shared.db import Database
from shared.envelope import Envelope
from shared.eventstore import EventStore
from shared.eventstore.store import stamp
from shared.migrations import migrate
from shared.repository import EventSourcedRepository

pytestmark = pytest.mark.postgres
MON = datetime(2026, 3, 2, tzinfo=timezone.utc)


def at(hour: int, minute: int = 0) -> datetime:
    return MON + timedelta(hours=hour, minutes=minute)


class Producers:
    """Each service's repositories as its bootstrap wires them; envelopes stamped as its store appends."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock, self.envelopes, self._versions = clock, [], defaultdict(int)

        def repo(service: str, registry: Any, aggregate: type, prefix: str) -> EventSourcedRepository:
            return EventSourcedRepository(EventStore(service, service), registry, aggregate, prefix, clock)

        self.requests = repo("intake", intake.registry, ServiceRequest, "request")
        self.jobs, self.resources = repo("dispatch", dispatch.registry, Job, "job"), \
            repo("dispatch", dispatch.registry, Resource, "resource")
        self.closures, self.items = repo("feedback", feedback.registry, Closure, "closure"), \
            repo("feedback", feedback.registry, FeedbackItem, "feedback")

    def publish(self, repo: EventSourcedRepository, aggregate_id: str, aggregate: Aggregate) -> None:
        stream = repo.stream_id(aggregate_id)
        envelopes = stamp(repo.envelopes(aggregate.take_pending()), stream, self._versions[stream])
        self._versions[stream] += len(envelopes)
        self.envelopes.extend(envelopes)

    def now(self, instant: datetime) -> datetime:
        self.clock.set(instant)
        return instant


def lifecycle() -> tuple[list[Envelope], intake.RequestTriaged]:
    """One request through all three services, told by their own domain code."""
    p = Producers(FrozenClock(at(8)))
    alice = Resource.register("res-a", "Alice", "person", {"printer": 3}, 2, None, None, "admin", p.now(at(8)),
                              team="north")
    bob = Resource.register("res-b", "Bob", "person", {"printer": 2}, 1, None, None, "admin", p.now(at(8)),
                            team="north")
    alice.update({"team": "south"}, 0, "moved", "admin", p.now(at(8, 30)))
    p.publish(p.resources, "res-a", alice)
    p.publish(p.resources, "res-b", bob)

    customer = cmd.CustomerDetails(id="cust-1", name="Ada Lovelace", email="ada@example.com")
    request = ServiceRequest.submit("r1", cmd.SubmitRequest(
        customer=customer, channel="phone", kind="fault", title="Printer jammed", description="Paper stuck.",
        urgency=Level.high, impact=Level.medium, taken_by="agent-1", category="fault > equipment > printer",
        location="Floor 2"), p.now(at(9)), Rules())
    triaged = request.triage
    assert triaged is not None
    p.publish(p.requests, "r1", request)
    request.acknowledge(cmd.Acknowledge("r1", "agent-1", "On it"), p.now(at(9, 20)))
    p.publish(p.requests, "r1", request)

    job = Job.open(triaged, ["printer"], p.now(at(9, 30)))
    for step, when in [
        (lambda now: job.allocate("res-a", "best_score", {"skill": 1.0}, 2, "dispatch", None, now), at(9, 40)),
        (lambda now: job.start("res-a", now), at(10)),
        (lambda now: job.escalate("team_lead", "manual", "the customer called twice", "dispatcher-1", now),
         at(10, 15)),
        (lambda now: job.pause("parts", "toner ordered", now), at(10, 30)),
        (lambda now: job.resume(now), at(11)),
        (lambda now: job.allocate("res-b", "manual", None, 0, "dispatcher-1", "Alice went home", now), at(11, 30)),
        (lambda now: job.start("res-b", now), at(11, 40)),
        (lambda now: job.resolve("res-b", "fixed", "Cleared the jam.", now), at(12)),
    ]:
        step(p.now(when))
        p.publish(p.jobs, "r1", job)

    closure = Closure.for_request("r1")
    closure.resolved("fixed", "Cleared the jam.", timedelta(days=3), p.now(at(12, 1)))
    p.publish(p.closures, "r1", closure)
    closure.answer(True, None, "cust-1", "s-1", timedelta(days=14), p.now(at(12, 30)),
                   follow_up=("P2 call-back", timedelta(hours=24)))
    p.publish(p.closures, "r1", closure)
    closure.return_survey("s-1", 4, 9, {"empathy": 5, "reliability": 3}, "Quick, thanks", timedelta(hours=24),
                          p.now(at(13)))
    p.publish(p.closures, "r1", closure)
    closure.complete_follow_up("called back, all good", "agent-1", p.now(at(14)))
    p.publish(p.closures, "r1", closure)

    item = FeedbackItem()
    now = p.now(at(12, 10))  # as feedback's `receive` records it
    item.record(feedback.FeedbackReceived(feedback_id="f1", subject_id="r1", kind="complaint", request_id="r1",
                                          text="Took all morning.", given_by="cust-1",
                                          respond_by=now + timedelta(hours=24), received_at=now))
    p.publish(p.items, "f1", item)
    item.acknowledge("agent-1", None, p.now(at(12, 20)))
    p.publish(p.items, "f1", item)
    item.investigate("agent-1", "the part was out of stock", p.now(at(12, 30)))
    p.publish(p.items, "f1", item)
    item.resolve("apologised, stock reordered", "agent-1", p.now(at(12, 40)))
    p.publish(p.items, "f1", item)
    return p.envelopes, triaged


async def analytics_schema(db: Database) -> str:
    schema = f"a_{uuid.uuid4().hex[:10]}"
    await migrate(db.engine, MIGRATIONS, schema)
    return schema


async def consume(db: Database, schema: str, envelopes: list[Envelope]) -> None:
    """As analytics' consumer runner does: each record decoded by its ce_type, then handed to the archiver."""
    handler = archiver(Archive(schema))
    for env in envelopes:
        async with db.begin() as conn:
            await handler(conn, decoded(env))


async def fold(db: Database, schema: str, batch: int = 7) -> tuple[FactProjector, FactTables]:
    async with db.begin() as conn:
        await EventStore(schema, "analytics").assign_positions(conn)
    tables = FactTables(schema, 1)
    async with db.begin() as conn:
        await tables.create(conn)
    projector = FactProjector(db, Archive(schema), tables, batch_size=batch, flush_every=batch)
    while await projector.run_once():
        pass
    return projector, tables


async def facts(db: Database, tables: FactTables, table: Any, key: str) -> Any:
    async with db.connect() as conn:
        [fact] = await tables.load(conn, table, [key])
    return fact


async def test_the_facts_of_a_request_told_by_the_services_own_code(db):
    envelopes, triaged = lifecycle()
    schema = await analytics_schema(db)
    await consume(db, schema, envelopes)
    projector, tables = await fold(db, schema)

    assert projector.skipped == 0 and projector.folded == len(envelopes)
    r = await facts(db, tables, REQUESTS, "r1")
    assert (r.channel, r.kind, r.category, r.owner) == ("phone", "fault", "fault > equipment > printer", "agent-1")
    assert (r.priority, r.emergency) == (triaged.priority, triaged.emergency) == ("P2", False)
    assert (r.received_at, r.triaged_at) == (at(9), at(9))
    assert (r.respond_by, r.resolve_by) == (triaged.respond_by, triaged.resolve_by)
    assert (r.acknowledged_at, r.ack_in_time) == (at(9, 20), at(9, 20) <= triaged.respond_by)
    assert (r.first_allocated_at, r.path, r.resource_id) == (at(9, 40), ["res-a", "res-b"], "res-b")
    assert r.started_at == at(10)
    assert (r.work_s, r.paused_s, r.pauses) == (60 * 60 + 20 * 60, 30 * 60, 1)  # A 10:00-10:30, 11:00-11:30; B 20 min
    assert (r.escalations, r.escalation_level) == (1, 1)
    assert (r.resolved_at, r.resolver_id, r.resolution_code) == (at(12), "res-b", "fixed")
    assert (r.confirmed_at, r.closed_at, r.closed_how) == (at(12, 30), at(12, 30), "confirmed")
    assert (r.csat, r.nps, r.dimensions) == (4, 9, {"empathy": 5, "reliability": 3})
    assert (r.complaints, r.follow_ups, r.follow_ups_done) == (1, 1, 1)

    f = await facts(db, tables, FEEDBACK, "f1")
    assert (f.kind, f.request_id, f.received_at, f.respond_by) == ("complaint", "r1", at(12, 10), at(12, 10) +
                                                                    timedelta(hours=24))
    assert (f.acknowledged_at, f.resolved_at, f.within_deadline, f.escalated) == (at(12, 20), at(12, 40), True, False)
    a = await facts(db, tables, RESOURCES, "res-a")
    assert (a.name, a.kind, a.team, a.capacity) == ("Alice", "person", "south", 2)


# --- versions ------------------------------------------------------------------------------------------------------


def acknowledged(request_id: str, minutes: int) -> intake.RequestAcknowledged:
    return intake.RequestAcknowledged(request_id=request_id, acknowledged_by="agent-1", acknowledged_at=at(9, minutes),
                                      respond_by=at(9, 30), within_target=minutes <= 30)


def envelope(event: Any, ce_type: str, data: dict[str, Any] | None = None, version: int = 1) -> Envelope:
    return Envelope(id=str(uuid.uuid4()), source="/servicetrail/intake", type=ce_type, subject=event.subject,
                    time=event.acknowledged_at if hasattr(event, "acknowledged_at") else at(9),
                    stream_id=f"request-{event.subject}", stream_version=version, correlation_id=str(uuid.uuid4()),
                    causation_id=None, data=data if data is not None else event.model_dump(mode="json"))


async def test_an_event_archived_under_an_older_contract_version_still_folds(db, monkeypatch):
    # Intake moves RequestAcknowledged to v2, whose v1 did not say whether the answer was in time:
    # the upcaster works it out. v1 rows archived before, and v1 records consumed since, still fold.
    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "within_target": data["acknowledged_at"] <= data["respond_by"]}

    monkeypatch.setattr(intake.RequestAcknowledged, "version", 2)
    monkeypatch.setitem(intake.registry._upcasters, ("RequestAcknowledged", 1), v1_to_v2)
    v1, v2 = "servicetrail.intake.RequestAcknowledged.v1", "servicetrail.intake.RequestAcknowledged.v2"

    def as_v1(event: intake.RequestAcknowledged) -> Envelope:
        return envelope(event, v1, {k: v for k, v in event.model_dump(mode="json").items() if k != "within_target"})

    schema = await analytics_schema(db)
    async with db.begin() as conn:
        await Archive(schema).record(conn, as_v1(acknowledged("r-old", 10)))  # archived before v2 existed
    await consume(db, schema, [as_v1(acknowledged("r-late", 45)), envelope(acknowledged("r-new", 20), v2)])
    projector, tables = await fold(db, schema)

    assert projector.skipped == 0
    assert [(r.request_id, r.ack_in_time) for r in await _all(db, tables)] == \
        [("r-late", False), ("r-new", True), ("r-old", True)]
    async with db.connect() as conn:
        types = await conn.fetch(f"SELECT subject, type, data->>'within_target' AS w FROM {schema}.events ORDER BY 1")
    assert [tuple(t) for t in types] == [("r-late", v2, "false"), ("r-new", v2, "true"), ("r-old", v1, None)]


async def test_an_archived_event_this_code_cannot_read_is_skipped_and_counted_never_folded(db):
    good = acknowledged("r1", 10)
    triaged = intake.RequestTriaged(
        request_id="r1", priority="P1", urgency="high", impact="high", kind="fault", channel="phone",
        emergency=True, received_at=at(9), respond_by=at(10), resolve_by=at(13),
        sla=intake.SlaTargets(policy="P1", respond="1h", resolve="4h", calendar={}), triaged_by="agent-1",
        needs_review=False, triaged_at=at(9))
    schema = await analytics_schema(db)
    archive = Archive(schema)
    async with db.begin() as conn:  # rows archived before the archive read contracts, or by a newer replica
        await archive.record(conn, envelope(good, "servicetrail.intake.RequestAcknowledged.v1"))
        await archive.record(conn, envelope(triaged, "servicetrail.intake.RequestTriaged.v9", version=2))
        await archive.record(conn, envelope(triaged, "servicetrail.intake.RequestTeleported.v1", version=3))
    projector, tables = await fold(db, schema)

    assert projector.folded == 3
    assert projector.skipped == 1  # the v9 triage; an event no fact folds is passed over, not counted
    [fact] = await _all(db, tables)
    assert (fact.priority, fact.emergency, fact.acknowledged_at) == (None, False, at(9, 10))


async def _all(db: Database, tables: FactTables) -> list[Any]:
    async with db.connect() as conn:
        rows = await conn.fetch(f"SELECT request_id FROM {tables.of(REQUESTS)} ORDER BY 1")
        return sorted(await tables.load(conn, REQUESTS, [r[0] for r in rows]), key=lambda f: f.request_id)

