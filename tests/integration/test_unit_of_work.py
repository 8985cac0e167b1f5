"""The unit of work and the bus on the real PostgreSQL: one transaction per command, committed
only when asked; events, working rows and the remembered answer together or not at all; a unit
joined to its caller's transaction leaves the commit to the caller."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.feedback.adapters.tables import FeedbackTables
from services.feedback.domain.items import FeedbackItem
from shared.aggregate import IdSource
from shared.clock import FrozenClock
from shared.contracts import feedback as ev
from shared.db import Conn, Database, fetch
from shared.eventstore import ConcurrencyError, EventStore
from shared.messagebus import MessageBus
from shared.postgres_unit_of_work import PostgresUnitOfWork, StreamRepository
from shared.repository import EventSourcedRepository

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


class Items(PostgresUnitOfWork):
    """A unit with one repository: feedback items, each with its queue row."""

    def __init__(self, db: Database | None, schema: str, ids: IdSource, conn: Conn | None = None) -> None:
        super().__init__(db, schema, ids, conn)
        self.streams = EventSourcedRepository(EventStore(schema, "feedback"), ev.registry, FeedbackItem, "feedback",
                                              FrozenClock(NOW))

    def _open(self, conn: Conn) -> None:
        self.items = StreamRepository(self.streams, conn, self.ids, FeedbackTables(self.schema).save_item)


def received(item_id: str) -> FeedbackItem:
    return FeedbackItem.receive(item_id, "complaint", None, "nobody came", "cust-1", NOW + timedelta(hours=24), NOW)


async def stored(db: Database, schema: str, item_id: str) -> tuple[int, list[str], int]:
    async with db.connect() as conn:
        version = await EventStore(schema, "feedback").stream_version(conn, f"feedback-{item_id}")
        rows = await fetch(conn, f"SELECT status FROM {schema}.feedback_items WHERE id = $1", item_id)
        answers = await fetch(conn, f"SELECT count(*) FROM {schema}.idempotency_keys")
    return version, [r[0] for r in rows], answers[0][0]


async def test_a_committed_unit_keeps_its_events_rows_and_answer_together(db: Database, schema: str):
    async with Items(db, schema, IdSource()) as uow:
        item = received("f-1")
        uow.items.add("f-1", item)
        await uow.save()
        assert item.version == 1  # current before the commit: the answer is built from it
        await uow.remember("scope", "key-1", "hash", 201, {"id": "f-1", "at": NOW})
        await uow.commit()
        assert [type(e).__name__ for e in uow.collect_new_events()] == ["FeedbackReceived"]
    assert await stored(db, schema, "f-1") == (1, ["open"], 1)
    async with Items(db, schema, IdSource()) as uow:
        kept = await uow.remembered("scope", "key-1")
    assert kept is not None and (kept.status, kept.body) == (201, {"id": "f-1", "at": "2026-03-02T10:00:00Z"})


async def test_a_unit_left_without_a_commit_or_by_an_error_keeps_nothing(db: Database, schema: str):
    async with Items(db, schema, IdSource()) as uow:
        uow.items.add("f-2", received("f-2"))
        await uow.save()
        await uow.remember("scope", "key-2", "hash", 201, {})
    with pytest.raises(RuntimeError):
        async with Items(db, schema, IdSource()) as uow:
            uow.items.add("f-2", received("f-2"))
            await uow.save()
            raise RuntimeError("the handler failed")
    assert await stored(db, schema, "f-2") == (0, [], 0)


async def test_saving_at_a_version_the_stream_has_moved_past_is_a_conflict(db: Database, schema: str):
    async with Items(db, schema, IdSource()) as uow:
        uow.items.add("f-3", received("f-3"))
        await uow.commit()
    async with Items(db, schema, IdSource()) as first, Items(db, schema, IdSource()) as second:
        mine, theirs = await first.items.get("f-3"), await second.items.get("f-3")
        assert mine is not None and theirs is not None
        theirs.acknowledge("desk-2", None, NOW)
        await second.commit()
        mine.acknowledge("desk-1", None, NOW)
        with pytest.raises(ConcurrencyError):
            await first.commit()
    assert await stored(db, schema, "f-3") == (2, ["acknowledged"], 0)


async def test_a_joined_unit_saves_in_its_callers_transaction_and_leaves_the_commit_to_it(db: Database, schema: str):
    with pytest.raises(RuntimeError):
        async with db.begin() as conn:
            async with Items(None, schema, IdSource(), conn) as uow:
                uow.items.add("f-4", received("f-4"))
                await uow.commit()
            assert await EventStore(schema, "feedback").stream_version(conn, "feedback-f-4") == 1
            raise RuntimeError("the consumer's transaction fails after")
    assert await stored(db, schema, "f-4") == (0, [], 0)


async def test_the_bus_answers_a_retried_command_first_answer_from_postgresql(db: Database, schema: str):
    async def acknowledge(c: str, uow: Items) -> FeedbackItem:
        item = await uow.items.get(c)
        assert item is not None
        item.acknowledge("desk-1", None, NOW)
        return item

    class Key:
        scope, key, body_hash = "ack:desk-1:/v1/feedback/f-5", "k-1", "h-1"

    async with Items(db, schema, IdSource()) as uow:
        uow.items.add("f-5", received("f-5"))
        await uow.commit()
    bus = MessageBus(lambda ids: Items(db, schema, ids), {str: acknowledge})
    first = await bus.handle("f-5", Key(), view=lambda item: {"version": item.version})
    again = await bus.handle("f-5", Key(), view=lambda item: {"version": item.version})
    assert (first.body, first.replayed, again.body, again.replayed) == ({"version": 2}, False, {"version": 2}, True)
    assert await stored(db, schema, "f-5") == (2, ["acknowledged"], 1)
