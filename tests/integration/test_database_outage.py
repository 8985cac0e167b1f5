"""A database outage is unavailability, to be waited out or answered 503, never a bad event.

Deterministic: a smart shutdown (`pg_ctl stop -m smart`) waits for the sessions already open, and
while one is held every new connection is refused with 57P03 "the database system is shutting
down", the very error the analytics and feedback dead-letter queues received in production.
Each test starts its own embedded PostgreSQL and never touches the suite's shared server.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import uuid
from typing import AsyncIterator

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.consumer import ConsumerRunner, dead_letter_topic
from shared.db import Conn, Database, fetch, is_unavailable, plain_url
from shared.envelope import Envelope
from shared.kafka import make_consumer, make_producer
from shared.migrations import migrate
from shared.runtime.embedded import EmbeddedPostgres
from shared.settings import Settings
from tests.conftest import INFRA_MIGRATIONS, ROOT
from tests.support.events import new_event
from tests.support.kafka import create_topics, produce, unique_topic
from tests.support.waiting import until

pytestmark = pytest.mark.postgres


@contextlib.asynccontextmanager
async def own_postgres() -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    server = EmbeddedPostgres(ROOT / "var" / f"outage-pg-{uuid.uuid4().hex[:6]}")
    url = await asyncio.to_thread(server.start)
    try:
        yield server, url
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(server.data_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def shutting_down(server: EmbeddedPostgres, url: str) -> AsyncIterator[None]:
    """A smart shutdown kept pending by one open session; leaving lets the server finish it."""
    session = await asyncpg.connect(plain_url(url))
    try:
        await asyncio.to_thread(server.request_shutdown, "smart")
        yield
    finally:
        await session.close()


def sqlstates(exc: BaseException) -> set[str]:
    found, todo, seen = set(), [exc], set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(getattr(e, "sqlstate", None), str):
            found.add(e.sqlstate)
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return found


async def raised(work) -> BaseException:  # noqa: ANN001
    try:
        await work()
    except Exception as exc:
        return exc
    raise AssertionError("expected the database to refuse")


async def test_what_a_shutting_down_database_raises_is_classified_unavailable():
    async with own_postgres() as (server, url):
        db = Database(url, pool_size=2)  # nothing pooled yet: every checkout opens a connection
        try:
            async with shutting_down(server, url):

                async def via_begin() -> None:
                    async with db.begin() as conn:
                        await conn.fetchval("SELECT 1")

                async def via_connect() -> None:
                    async with db.connect() as conn:
                        await conn.fetchval("SELECT 1")

                async def via_engine() -> None:
                    async with db.engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))

                for work in (via_begin, via_connect, via_engine):
                    exc = await raised(work)
                    assert "57P03" in sqlstates(exc), repr(exc)  # the production error, reproduced
                    assert isinstance(exc, DBAPIError), repr(exc)
                    assert is_unavailable(exc), f"{work.__name__}: {exc!r} not seen as unavailable"
        finally:
            await db.dispose()


def test_unavailability_is_told_from_a_bad_statement_and_cycles_end():
    refused = asyncpg.CannotConnectNowError("the database system is shutting down")
    a, b = RuntimeError("a"), RuntimeError("b")
    a.__cause__, b.__context__ = b, a  # a cycle with nothing unavailable in it
    assert not is_unavailable(a)
    b.__cause__ = refused
    assert is_unavailable(a)
    assert is_unavailable(DBAPIError("SELECT 1", None, ConnectionResetError()))
    assert is_unavailable(asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"))
    assert is_unavailable(asyncpg.AdminShutdownError("terminating connection due to administrator command"))
    for bad in (asyncpg.UniqueViolationError("duplicate key"), asyncpg.DataError("invalid input for query argument"),
                asyncpg.QueryCanceledError("canceling statement due to statement timeout"), ValueError("nope")):
        assert not is_unavailable(bad), repr(bad)


class Watched(Database):
    """Records every failure of `connect` and `begin`, to know the runner met the outage."""

    def __init__(self, url: str) -> None:
        super().__init__(url, pool_size=2)
        self.failures: list[BaseException] = []

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[Conn]:
        try:
            async with super().connect() as conn:
                yield conn
        except Exception as exc:
            self.failures.append(exc)
            raise

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[Conn]:
        try:
            async with super().begin() as conn:
                yield conn
        except Exception as exc:
            self.failures.append(exc)
            raise


async def end_offsets(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


@pytest.mark.kafka
async def test_a_consumer_waits_out_a_shutting_down_database_and_dead_letters_nothing(broker):
    async with own_postgres() as (server, url):
        schema, topic, name = "outage", unique_topic("outage"), f"g-outage-{uuid.uuid4().hex[:6]}"
        setup = Database(url, pool_size=2)
        await migrate(setup.engine, INFRA_MIGRATIONS, schema)
        async with setup.begin() as conn:
            await fetch(conn, f"CREATE TABLE {schema}.effects (event_id text PRIMARY KEY, applied int NOT NULL)")
        await setup.dispose()  # its sessions would keep the smart shutdown pending
        await create_topics(broker.bootstrap, topic, dead_letter_topic(name))
        settings = Settings(kafka_bootstrap_servers=broker.bootstrap, kafka_idempotence=broker.idempotence)
        producer = make_producer(settings, "outage")
        await producer.start()
        db = Watched(url)

        async def count(conn: Conn, env: Envelope) -> None:
            await fetch(conn, f"INSERT INTO {schema}.effects VALUES ($1, 1) ON CONFLICT (event_id) "
                              f"DO UPDATE SET applied = {schema}.effects.applied + 1", env.id)

        event = dataclasses.replace(new_event("outage"), stream_id="request-outage", stream_version=1)
        runner = ConsumerRunner(name=name, consumer=make_consumer(settings, name, topic), producer=producer,
                                db=db, schema=schema, handler=count, max_attempts=2, backoff_seconds=0.01)
        stop = asyncio.Event()
        task = None

        async def dead_letters() -> int:
            return await end_offsets(broker.bootstrap, dead_letter_topic(name))
        try:
            async with shutting_down(server, url):
                await produce(broker.bootstrap, topic, [event])
                task = asyncio.create_task(runner.run(stop))

                async def met_outage_or_gave_up() -> bool:
                    return len(db.failures) > 2 or task.done() or await dead_letters() > 0

                await until(met_outage_or_gave_up, timeout=60)
                assert not task.done(), f"the runner stopped: {task.exception()!r}"
                assert await dead_letters() == 0, "dead-lettered an outage"
                assert any("57P03" in sqlstates(e) for e in db.failures), db.failures
            await asyncio.to_thread(server.stop)  # ends the shutdown (and with it the pooled sessions)
            await asyncio.to_thread(server.start)

            async def applied() -> dict[str, int]:
                async with db.connect() as conn:
                    return dict(await fetch(conn, f"SELECT event_id, applied FROM {schema}.effects"))

            async def done() -> bool:
                with contextlib.suppress(Exception):
                    return bool(await applied())
                return False

            await until(done, timeout=60)
            assert await applied() == {event.id: 1}
            assert await dead_letters() == 0
            assert not task.done()
        finally:
            stop.set()
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
            await producer.stop()
            await db.dispose()


class NothingDue:
    """Tables with nothing due, that still query the database each round."""

    def __init__(self) -> None:
        self.rounds = 0

    async def _nothing(self, conn: Conn, *_: object) -> list:
        await conn.fetchval("SELECT 1")
        self.rounds += 1
        return []

    due_timers = due_closures = late_complaints = _nothing


async def test_the_sla_scheduler_and_the_closer_wait_out_a_shutting_down_database():
    from types import SimpleNamespace

    from services.dispatch.service_layer.background import SlaScheduler
    from services.feedback.service_layer.closer import Closer
    from shared.clock import SystemClock

    async with own_postgres() as (server, url):
        db = Watched(url)
        tables = NothingDue()
        deps = SimpleNamespace(db=db, clock=SystemClock(), tables=tables)
        loops = [SlaScheduler(deps, poll_seconds=0.05), Closer(deps, poll_seconds=0.05)]  # type: ignore[arg-type]
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        try:
            async with shutting_down(server, url):
                tasks = [asyncio.create_task(loop.run(stop)) for loop in loops]

                async def met_outage_or_gave_up() -> bool:
                    return len(db.failures) >= 4 or any(t.done() for t in tasks)

                await until(met_outage_or_gave_up, timeout=60)
                assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
                assert tables.rounds == 0 and any("57P03" in sqlstates(e) for e in db.failures)
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start)
            rounds = tables.rounds

            async def back_at_work() -> bool:
                return tables.rounds >= rounds + 6  # both loops, each asking both tables of theirs

            await until(back_at_work, timeout=60)
            assert not any(t.done() for t in tasks)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await db.dispose()


async def test_an_append_during_an_outage_is_answered_503_and_the_first_after_it_succeeds():
    from shared.eventstore import EventStore, GroupCommitAppender
    from shared.http.problems import problem_for
    from tests.support.events import new_events

    async with own_postgres() as (server, url):
        db = Database(url, pool_size=4)
        await migrate(db.engine, INFRA_MIGRATIONS, "writers")
        appender = GroupCommitAppender(db, EventStore("writers", "intake"), writers=2)
        await appender.start()
        try:
            await asyncio.gather(*(appender.append(f"request-a{n}", new_events(1, f"a{n}"), 0) for n in range(20)))
            await asyncio.to_thread(server.stop)  # the writers' kept connections die with it
            exc = await raised(lambda: appender.append("request-b", new_events(1, "b"), 0))
            assert is_unavailable(exc), repr(exc)
            answer = problem_for(exc, retry_after=5)
            assert answer is not None and answer.status_code == 503, repr(exc)
            assert answer.headers["retry-after"] == "5" and answer.media_type == "application/problem+json"

            await asyncio.to_thread(server.start)
            for n in range(4):  # whichever writer takes it, the first append after the restart goes in
                assert await appender.append(f"request-c{n}", new_events(2, f"c{n}"), 0) == 2
        finally:
            await appender.stop()
            await db.dispose()
