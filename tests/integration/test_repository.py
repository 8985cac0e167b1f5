"""EventSourcedRepository on the real event store: an aggregate saved is at its stream's version.

Issue 12: `save` appended and left the aggregate at the version it was loaded at, so every answer
built from it (dispatch's jobs and resources, feedback's closures, items and actions) carried an
old `version`, and a second save in the same transaction appended at a stale expected version.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.feedback.domain.items import FeedbackItem
from shared.clock import FrozenClock
from shared.contracts import feedback as ev
from shared.db import Database
from shared.eventstore import EventStore
from shared.repository import EventSourcedRepository

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def received(item_id: str) -> ev.FeedbackReceived:
    return ev.FeedbackReceived(feedback_id=item_id, subject_id=item_id, kind="complaint", request_id=None,
                               text="nobody came", given_by="cust-1", respond_by=NOW + timedelta(hours=24),
                               received_at=NOW)


def feedback_items(schema: str) -> tuple[EventStore, EventSourcedRepository[FeedbackItem]]:
    store = EventStore(schema, "feedback")
    return store, EventSourcedRepository(store, ev.registry, FeedbackItem, "feedback", FrozenClock(NOW))


async def test_after_save_the_aggregate_is_at_its_streams_new_version(db: Database, schema: str):
    store, items = feedback_items(schema)
    item = FeedbackItem()
    item.record(received("f-1"))
    async with db.begin() as conn:
        assert await items.save(conn, "f-1", item) == 1
        assert item.version == await store.stream_version(conn, "feedback-f-1") == 1
        item.acknowledge("desk-1", "on it", NOW)
        item.investigate("desk-1", "the van broke down", NOW)
        await items.save(conn, "f-1", item)  # a second save in one transaction appends after the first
        assert item.version == await store.stream_version(conn, "feedback-f-1") == 3
        assert item.recorded_ids == {e.id for e in await store.read_stream(conn, "feedback-f-1")}
    async with db.connect() as conn:
        loaded = await items.get(conn, "f-1")
    assert loaded is not None and loaded.version == 3 and loaded.status == "investigating"


async def test_saving_nothing_new_leaves_the_version(db: Database, schema: str):
    store, items = feedback_items(schema)
    item = FeedbackItem()
    item.record(received("f-2"))
    async with db.begin() as conn:
        await items.save(conn, "f-2", item)
        assert await items.save(conn, "f-2", item) == 1 and item.version == 1


async def test_many_aggregates_load_in_one_read_as_each_would_alone(db: Database, schema: str):
    store, items = feedback_items(schema)
    for n, steps in (("a", 1), ("b", 3), ("c", 2)):
        item = FeedbackItem()
        item.record(received(f"f-{n}"))
        if steps > 1:
            item.acknowledge("desk-1", "on it", NOW)
        if steps > 2:
            item.investigate("desk-1", "the van broke down", NOW)
        async with db.begin() as conn:
            await items.save(conn, f"f-{n}", item)
    async with db.connect() as conn:
        many = await items.get_many(conn, ["f-b", "f-none", "f-a", "f-c"])
        alone = {n: await items.get(conn, n) for n in ("f-a", "f-b", "f-c")}
    assert set(many) == {"f-a", "f-b", "f-c"}  # a stream with no event is absent
    for n, item in alone.items():
        assert item is not None
        assert (many[n].version, many[n].status, many[n].recorded_ids, many[n].changed_at) == \
               (item.version, item.status, item.recorded_ids, item.changed_at)
    assert [many[n].version for n in ("f-a", "f-b", "f-c")] == [1, 3, 2]
