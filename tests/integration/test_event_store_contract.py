"""The event store's contract, run against every way of appending: inside the caller's
transaction (EventStore.append) and group-committed (GroupCommitAppender)."""
from __future__ import annotations

import abc
import asyncio
import random
from typing import AsyncIterator, Sequence

import pytest

from shared.db import Database
from shared.envelope import Envelope
from shared.eventstore import ConcurrencyError, EventStore, GroupCommitAppender
from tests.support.events import new_event, new_events

pytestmark = pytest.mark.postgres


class Appender(abc.ABC):
    @abc.abstractmethod
    async def append(self, stream_id: str, events: Sequence[Envelope], expected: int) -> int: ...


class InTransaction(Appender):
    def __init__(self, db: Database, store: EventStore) -> None:
        self.db, self.store = db, store

    async def append(self, stream_id: str, events: Sequence[Envelope], expected: int) -> int:
        async with self.db.begin() as conn:
            return await self.store.append(conn, stream_id, events, expected)


class GroupCommitted(Appender):
    def __init__(self, appender: GroupCommitAppender) -> None:
        self.appender = appender

    async def append(self, stream_id: str, events: Sequence[Envelope], expected: int) -> int:
        return await self.appender.append(stream_id, events, expected)


async def read_everything(db: Database, store: EventStore) -> list[Envelope]:
    async with db.begin() as conn:
        await store.assign_positions(conn)
    async with db.connect() as conn:
        return await store.read_all(conn, 0, 100_000)


class EventStoreContract(abc.ABC):
    @pytest.fixture
    @abc.abstractmethod
    async def appender(self, db: Database, store: EventStore) -> AsyncIterator[Appender]: ...

    async def test_appended_events_are_read_back_in_stream_order(self, appender, db, store):
        events = new_events(3)
        assert await appender.append("request-1", events, 0) == 3
        assert await appender.append("request-1", [new_event()], 3) == 4
        async with db.connect() as conn:
            read = await store.read_stream(conn, "request-1")
        assert [e.stream_version for e in read] == [1, 2, 3, 4]
        assert [e.id for e in read[:3]] == [e.id for e in events]
        assert read[0].data == events[0].data and read[0].correlation_id == events[0].correlation_id

    async def test_a_stale_expected_version_is_a_concurrency_error(self, appender):
        await appender.append("request-2", new_events(2), 0)
        with pytest.raises(ConcurrencyError):
            await appender.append("request-2", [new_event()], 1)

    async def test_an_expected_version_ahead_of_the_stream_is_a_concurrency_error(self, appender):
        await appender.append("request-3", new_events(1), 0)
        with pytest.raises(ConcurrencyError):
            await appender.append("request-3", [new_event()], 5)

    async def test_a_new_stream_expected_on_an_existing_one_is_a_concurrency_error(self, appender):
        await appender.append("request-4", new_events(1), 0)
        with pytest.raises(ConcurrencyError):
            await appender.append("request-4", new_events(2), 0)

    async def test_a_retried_append_with_the_same_event_ids_records_nothing_twice(self, appender, db, store):
        events = new_events(2)
        assert await appender.append("request-5", events, 0) == 2
        assert await appender.append("request-5", events, 0) == 2
        async with db.connect() as conn:
            assert len(await store.read_stream(conn, "request-5")) == 2

    async def test_a_failed_multi_event_append_leaves_no_trace(self, appender, db, store):
        await appender.append("request-6", new_events(1), 0)
        with pytest.raises(ConcurrencyError):
            await appender.append("request-6", new_events(3), 0)
        async with db.connect() as conn:
            assert len(await store.read_stream(conn, "request-6")) == 1

    async def test_concurrent_appends_to_one_stream_let_exactly_one_win_per_version(self, appender, db, store):
        results = await asyncio.gather(
            *(appender.append("request-7", [new_event()], 0) for _ in range(10)), return_exceptions=True
        )
        assert sum(1 for r in results if r == 1) == 1
        assert all(isinstance(r, ConcurrencyError) for r in results if r != 1)
        async with db.connect() as conn:
            assert len(await store.read_stream(conn, "request-7")) == 1

    async def test_read_all_follows_gap_free_positions_in_order(self, appender, db, store):
        for i in range(5):
            await appender.append(f"request-8-{i}", new_events(2, f"s{i}"), 0)
        everything = await read_everything(db, store)
        assert [e.position for e in everything] == list(range(1, 11))
        async with db.connect() as conn:
            tail = await store.read_all(conn, 7, 100)
        assert [e.position for e in tail] == [8, 9, 10]

    async def test_many_concurrent_writers_never_leave_an_event_behind_the_reader(self, appender, db, store):
        stop, seen, positions = asyncio.Event(), [], []

        async def reader() -> None:
            last = 0
            while True:
                done = stop.is_set()
                async with db.begin() as conn:
                    await store.assign_positions(conn)
                async with db.connect() as conn:
                    batch = await store.read_all(conn, last, 1000)
                for e in batch:
                    seen.append(e.id)
                    positions.append(e.position)
                last = batch[-1].position if batch else last
                if done and not batch:
                    return
                await asyncio.sleep(0.002)

        async def writer(n: int) -> list[str]:
            ids = []
            for k in range(8):
                events = [new_event(f"w{n}")]
                await self.slow_append(appender, db, store, f"writer-{n}", events, k)
                ids.append(events[0].id)
            return ids

        reading = asyncio.create_task(reader())
        written = await asyncio.gather(*(writer(n) for n in range(24)))
        stop.set()
        await reading
        expected = {i for ids in written for i in ids}
        assert len(seen) == len(set(seen)) == len(expected) == 24 * 8
        assert set(seen) == expected
        assert positions == list(range(1, len(expected) + 1))

    async def slow_append(self, appender, db, store, stream, events, expected):  # noqa: ANN001
        await asyncio.sleep(random.uniform(0, 0.02))
        await appender.append(stream, events, expected)


class TestInTransactionAppend(EventStoreContract):
    @pytest.fixture
    async def appender(self, db, store):
        yield InTransaction(db, store)

    async def slow_append(self, appender, db, store, stream, events, expected):  # noqa: ANN001
        # Hold the transaction open for a random while after inserting: commit order then differs
        # from insertion (sequence) order, which is what must not make a reader skip anything.
        async with db.begin() as conn:
            await store.append(conn, stream, events, expected)
            await asyncio.sleep(random.uniform(0, 0.05))


class TestGroupCommitAppend(EventStoreContract):
    @pytest.fixture
    async def appender(self, db, store):
        group = GroupCommitAppender(db, store, writers=2)
        await group.start()
        yield GroupCommitted(group)
        await group.stop()
