"""The whole pipeline (event store -> relay -> broker -> consumer) through a PostgreSQL restart."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.consumer import ConsumerRunner
from shared.db import Database, fetch
from shared.eventstore import EventStore
from shared.kafka import make_consumer, make_producer
from shared.migrations import migrate
from shared.outbox import OutboxRelay
from shared.runtime.embedded import EmbeddedPostgres
from shared.settings import Settings
from tests.conftest import INFRA_MIGRATIONS, ROOT
from tests.integration.test_consumer_runner import effects, make_effects_table
from tests.support.events import new_events
from tests.support.kafka import create_topics, unique_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_relay_and_consumer_lose_nothing_and_repeat_nothing_across_a_database_restart(broker):
    server = EmbeddedPostgres(ROOT / "var" / f"restart-pg-{uuid.uuid4().hex[:6]}")
    url = server.start()
    db = Database(url, pool_size=4)
    schema, topic = "pipeline", unique_topic("restart")
    await migrate(db.engine, INFRA_MIGRATIONS, schema)
    await make_effects_table(db, schema)
    await create_topics(broker.bootstrap, topic)
    settings = Settings(kafka_bootstrap_servers=broker.bootstrap, kafka_idempotence=broker.idempotence)
    store = EventStore(schema, "intake")
    producer = make_producer(settings, "restart")
    await producer.start()

    async def count(conn, env) -> None:  # noqa: ANN001
        await fetch(conn, f"INSERT INTO {schema}.effects VALUES ($1, 1) ON CONFLICT (event_id) "
                          f"DO UPDATE SET applied = {schema}.effects.applied + 1", env.id)

    stop = asyncio.Event()
    relay = OutboxRelay(db, store, producer, topic, poll_seconds=0.02)
    runner = ConsumerRunner(name=f"g-{uuid.uuid4().hex[:6]}", consumer=make_consumer(settings, f"g-{topic}", topic),
                            producer=producer, db=db, schema=schema, handler=count)
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(runner.run(stop))]
    try:
        async with db.begin() as conn:
            for s in range(20):
                await store.append(conn, f"request-a{s}", new_events(5, f"a{s}"), 0)
        await until(lambda: _count(db, schema, 100), timeout=60)

        server.stop()  # every pooled connection dies with it
        await asyncio.sleep(1.5)
        url_again = server.start()
        assert url_again == url

        async def append_after_restart() -> bool:
            try:
                async with db.begin() as conn:
                    for s in range(20):
                        await store.append(conn, f"request-b{s}", new_events(5, f"b{s}"), 0)
                return True
            except Exception:
                return False  # the pool notices dead connections on first use

        await until(append_after_restart, timeout=30)
        await until(lambda: _count(db, schema, 200), timeout=60)
        await asyncio.sleep(0.5)
        assert set((await effects(db, schema)).values()) == {1}
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()
        await db.dispose()
        server.stop()


async def _count(db, schema, n) -> bool:  # noqa: ANN001
    try:
        return len(await effects(db, schema)) >= n
    except Exception:
        return False


async def test_the_group_commit_writers_take_new_connections_after_a_database_restart():
    from shared.eventstore import GroupCommitAppender

    server = EmbeddedPostgres(ROOT / "var" / f"restart-pg-{uuid.uuid4().hex[:6]}")
    url = server.start()
    db = Database(url, pool_size=4)
    schema = "writers"
    await migrate(db.engine, INFRA_MIGRATIONS, schema)
    store = EventStore(schema, "intake")
    appender = GroupCommitAppender(db, store, writers=2)
    await appender.start()
    try:
        assert await appender.append("request-a", new_events(2, "a"), 0) == 2
        for _ in range(3):  # concurrent appends, so that both writers hold a connection
            await asyncio.gather(*(appender.append(f"request-c{n}-{uuid.uuid4().hex[:4]}", new_events(1, "c"), 0)
                                   for n in range(40)))
        server.stop()  # the connections the writers hold die with it
        await asyncio.sleep(1.5)
        server.start()
        attempts = 0

        async def append_after_restart() -> bool:
            nonlocal attempts
            attempts += 1
            try:
                return await appender.append(f"request-b{attempts}", new_events(2, f"b{attempts}"), 0) == 2
            except Exception:
                return False  # a writer finds its connection dead on first use, and lets it go

        await until(append_after_restart, timeout=30)
        assert attempts <= 3  # one failure per writer at most, then fresh connections
        async with db.connect() as conn:
            assert len(await store.read_stream(conn, "request-a")) == 2
    finally:
        await appender.stop()
        await db.dispose()
        server.stop()
