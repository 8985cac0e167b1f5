"""Submit's group-commit unit of work on the real PostgreSQL, through the bus: the request's events
go through the group-commit appender and the answer is kept after them; a retry under the same
key, after a crash between the two or racing the first attempt, answers with the request as
stored and records nothing twice."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator

import pytest

from services.intake.adapters.unit_of_work import SubmitUnitOfWork
from services.intake.domain import commands as cmd
from services.intake.domain.model import Rules, ServiceRequest
from services.intake.domain.priority import Level
from services.intake.service_layer.handlers import HANDLERS, Submitted
from shared.aggregate import IdSource
from shared.clock import FrozenClock
from shared.contracts.intake import registry
from shared.db import Database, fetch
from shared.eventstore import EventStore
from shared.eventstore.writer import GroupCommitAppender
from shared.messagebus import MessageBus, inject
from shared.repository import EventSourcedRepository
from tests.support.unit_of_work import Key

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
KEY = Key("submit:agent-1:/v1/requests", "k-1")
SUBMIT = cmd.SubmitRequest(customer=cmd.CustomerDetails(id="cust-1", name="Ann"), channel="phone", kind="fault",
                           title="Printer jams", description="Every page", urgency=Level.medium,
                           impact=Level.medium, taken_by="agent-1", category="fault", caller=cmd.Caller("agent-1"))


class NoOpenRequests:
    async def load(self, customer_id: str) -> list[tuple[str, str, str]]:
        return []


class Crashing(SubmitUnitOfWork):
    async def _commit(self) -> None:  # the process dies after the append, before the answer is kept
        raise ConnectionError("gone")


@pytest.fixture
async def appender(db: Database, store: EventStore) -> AsyncIterator[GroupCommitAppender]:
    appender = GroupCommitAppender(db, store)
    await appender.start()
    yield appender
    await appender.stop()


def bus(db: Database, schema: str, appender: GroupCommitAppender, clock: FrozenClock,
        unit: type[SubmitUnitOfWork] = SubmitUnitOfWork) -> MessageBus:
    requests = EventSourcedRepository(appender.store, registry, ServiceRequest, "request", clock)

    def submit_unit(ids: IdSource) -> SubmitUnitOfWork:
        return unit(requests, schema, db, appender.append, ids)

    handlers = inject(HANDLERS, clock=clock, rules=Rules(), open_requests=NoOpenRequests())
    return MessageBus(lambda ids: None, handlers, units={cmd.SubmitRequest: submit_unit})  # type: ignore[arg-type]


def view(result: Submitted) -> dict[str, Any]:
    request = result.request
    assert request.received is not None
    return {"id": request.id, "version": request.version, "received_at": request.received.received_at}


def received(answer: Any) -> tuple[str, int, datetime]:
    return answer.body["id"], answer.body["version"], answer.body["received_at"]


async def counts(db: Database, schema: str) -> tuple[int, int]:
    async with db.connect() as conn:
        events = await fetch(conn, f"SELECT count(*) FROM {schema}.events")
        answers = await fetch(conn, f"SELECT count(*) FROM {schema}.idempotency_keys")
    return events[0][0], answers[0][0]


async def test_a_submit_is_appended_and_its_answer_kept_for_a_retry(db, schema, appender):
    first = await bus(db, schema, appender, FrozenClock(NOW)).handle(SUBMIT, KEY, view=view, status=201)
    again = await bus(db, schema, appender, FrozenClock(NOW)).handle(SUBMIT, KEY, view=view, status=201)
    assert (first.status, first.replayed, again.replayed) == (201, False, True)
    assert again.body == {**first.body, "received_at": "2026-03-02T10:00:00Z"}  # as JSON, kept
    assert await counts(db, schema) == (2, 1)


async def test_a_retry_after_a_crash_before_the_answer_was_kept_answers_with_the_request_as_stored(
        db, schema, appender):
    with pytest.raises(ConnectionError):
        await bus(db, schema, appender, FrozenClock(NOW), Crashing).handle(SUBMIT, KEY, view=view)
    assert await counts(db, schema) == (2, 0)
    again = await bus(db, schema, appender, FrozenClock(NOW + timedelta(minutes=5))).handle(SUBMIT, KEY, view=view)
    assert not again.replayed and received(again)[1:] == (2, NOW)  # the first attempt's, not now's
    assert await counts(db, schema) == (2, 1)


async def test_a_retry_racing_its_first_attempt_gets_the_same_answer(db, schema, appender):
    first, racer = await asyncio.gather(
        bus(db, schema, appender, FrozenClock(NOW)).handle(SUBMIT, KEY, view=view),
        bus(db, schema, appender, FrozenClock(NOW + timedelta(minutes=5))).handle(SUBMIT, KEY, view=view),
    )
    assert received(first) == received(racer)
    assert await counts(db, schema) == (2, 1)
