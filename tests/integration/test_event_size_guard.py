"""Issue 11, defect 6, the last line of defence: an event larger than EVENT_MAX_BYTES, as the relay
would send it, is refused before anything of its append is written (one the relay cannot publish
would otherwise hold back everything recorded after it, for good)."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from typing import AsyncIterator

import pytest

from services.dispatch.domain.resources import Resource
from shared import limits
from shared.clock import FrozenClock
from shared.contracts.dispatch import registry
from shared.db import Database
from shared.envelope import encoded_size, to_kafka
from shared.errors import EventTooLarge
from shared.eventstore import EventStore, GroupCommitAppender
from shared.repository import EventSourcedRepository
from tests.support.events import new_event

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
KAFKA_DEFAULT_MAX = 1_048_576


def holidays(count: int) -> list[str]:
    return [(date(2000, 1, 1) + timedelta(days=i)).isoformat() for i in range(count)]


def resource(resource_id: str, holiday_count: int) -> Resource:
    """Registered by the domain itself, past every HTTP bound: only the store's check is left."""
    shift = {"name": "day", "timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}, "holidays": holidays(holiday_count)}
    return Resource.register(resource_id, "Tech", "person", {"repair": 3}, 1, None, shift, "admin", NOW)


async def written(db: Database, schema: str) -> tuple[int, int]:
    async with db.connect() as conn:
        events = await conn.fetchval(f"SELECT count(*) FROM {schema}.events")
        queued = await conn.fetchval(f"SELECT count(*) FROM {schema}.unpositioned")
    return events, queued


@pytest.fixture
async def appender(db: Database, store: EventStore) -> AsyncIterator[GroupCommitAppender]:
    appender = GroupCommitAppender(db, store, writers=1)
    await appender.start()
    yield appender
    await appender.stop()


def test_the_default_limit_leaves_kafka_room_and_the_size_is_never_underestimated():
    assert limits.event_max_bytes() == 900_000 < KAFKA_DEFAULT_MAX
    event = dataclasses.replace(new_event("r-é", note="\x01é" * 500), stream_id="request-r-é", stream_version=7,
                                causation_id="c", personal=("customer.name",))
    key, headers, value = to_kafka(event)
    sent = len(key) + sum(len(name) + len(v) for name, v in headers) + len(value)
    assert sent <= encoded_size(event) <= sent + 8  # only the time is counted at its longest form


async def test_a_repository_refuses_an_oversized_event_and_writes_nothing(db: Database, store: EventStore, schema: str):
    repository = EventSourcedRepository(store, registry, Resource, "resource", FrozenClock(NOW))
    huge = resource("r-huge", 100_000)  # the reported case: ~1.3 MB as an event
    with pytest.raises(EventTooLarge) as refused:
        async with db.begin() as conn:
            await repository.save(conn, "r-huge", huge)
    assert refused.value.field == "shift" and refused.value.limit == 900_000
    assert refused.value.size > KAFKA_DEFAULT_MAX
    assert await written(db, schema) == (0, 0)
    async with db.begin() as conn:  # the store is left as it was: an event that fits goes in
        assert await repository.save(conn, "r-fits", resource("r-fits", limits.HOLIDAYS_MAX)) == 1
    assert await written(db, schema) == (1, 1)


async def test_the_group_commit_appender_refuses_an_oversized_append_whole(
        db: Database, schema: str, appender: GroupCommitAppender):
    small = new_event("r-1", note="fits")
    big = new_event("r-1", note="x" * 1_000_000, other="y")
    with pytest.raises(EventTooLarge) as refused:
        await appender.append("request-r-1", [small, big], 0)
    assert refused.value.field == "note"
    assert "over the 900,000-byte limit" in str(refused.value)
    assert await written(db, schema) == (0, 0)  # not even the event that fits: appends are whole
    assert await appender.append("request-r-1", [small], 0) == 1  # and the writer goes on
    assert await written(db, schema) == (1, 1)


async def test_the_limit_is_exact_at_the_append_and_configurable(db: Database, store: EventStore, schema: str):
    event = dataclasses.replace(new_event("r-2", note="n" * 5_000), time=NOW.replace(microsecond=1))
    size = encoded_size(dataclasses.replace(event, stream_id="request-r-2", stream_version=1))
    tight = GroupCommitAppender(db, store, writers=1, max_event_bytes=size - 1)
    exact = GroupCommitAppender(db, store, writers=1, max_event_bytes=size)
    await tight.start()
    await exact.start()
    try:
        with pytest.raises(EventTooLarge):
            await tight.append("request-r-2", [event], 0)
        assert await written(db, schema) == (0, 0)
        assert await exact.append("request-r-2", [event], 0) == 1
    finally:
        await tight.stop()
        await exact.stop()
