"""The outbox relay against real PostgreSQL and a real broker."""
from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import defaultdict

import pytest

from shared.checkpoint import Checkpoint
from shared.db import Database
from shared.eventstore import EventStore, GroupCommitAppender
from shared.kafka import make_producer
from shared.outbox import OutboxRelay
from shared.settings import Settings
from tests.conftest import ROOT, Broker, embedded_broker
from tests.support.events import new_event, new_events
from tests.support.kafka import create_topics, header, read_topic, unique_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def stream_orders(records) -> dict[str, list[int]]:  # noqa: ANN001
    """Per key, the stream versions in the order the topic holds them, repeats dropped."""
    seen, orders = set(), defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        event_id = header(r, "ce_id")
        if event_id not in seen:
            seen.add(event_id)
            orders[r.key.decode()].append(int(header(r, "ce_streamversion")))
    return orders


@pytest.fixture
async def relay_for(db: Database, store: EventStore, broker: Broker):
    producers = []

    async def make(topic: str, batch_size: int = 500, bootstrap: str | None = None) -> OutboxRelay:
        settings = Settings(kafka_bootstrap_servers=bootstrap or broker.bootstrap, kafka_idempotence=broker.idempotence)
        producer = make_producer(settings, "test-relay")
        await producer.start()
        producers.append(producer)
        return OutboxRelay(db, store, producer, topic, batch_size=batch_size, poll_seconds=0.02)

    yield make
    for producer in producers:
        await producer.stop()


async def test_committed_events_reach_the_topic_keyed_by_subject_in_stream_order(db, store, broker, relay_for):
    topic = unique_topic()
    await create_topics(broker.bootstrap, topic)
    async with db.begin() as conn:
        for s in range(10):
            await store.append(conn, f"request-{s}", new_events(5, f"r{s}"), 0)
    relay = await relay_for(topic)
    assert await relay.run_once() == 50
    assert await relay.run_once() == 0
    records = await read_topic(broker.bootstrap, topic, 50)
    assert len(records) == 50
    assert stream_orders(records) == {f"r{s}": [1, 2, 3, 4, 5] for s in range(10)}
    first = records[0]
    assert {"ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "ce_specversion",
            "ce_correlationid", "ce_streamid", "ce_streamversion"} <= {k for k, _ in first.headers}
    assert header(first, "ce_subject") == first.key.decode()


async def test_an_uncommitted_event_is_not_published_until_its_transaction_commits(db, store, broker, relay_for):
    topic = unique_topic()
    await create_topics(broker.bootstrap, topic)
    relay = await relay_for(topic)
    async with db.begin() as late:
        await store.append(late, "request-late", [new_event("late")], 0)
        async with db.begin() as conn:
            await store.append(conn, "request-early", [new_event("early")], 0)
        assert await relay.run_once() == 1
    assert await relay.run_once() == 1
    records = await read_topic(broker.bootstrap, topic, 2)
    assert sorted(r.key for r in records) == [b"early", b"late"]


async def test_republishing_from_a_position_sends_everything_after_it_again(db, store, broker, relay_for):
    topic = unique_topic()
    await create_topics(broker.bootstrap, topic)
    async with db.begin() as conn:
        await store.append(conn, "request-1", new_events(4), 0)
    relay = await relay_for(topic)
    await relay.run_once()
    await relay.republish_from(2)
    assert await relay.run_once() == 2
    records = await read_topic(broker.bootstrap, topic, 6)
    assert [int(header(r, "ce_streamversion")) for r in records] == [1, 2, 3, 4, 3, 4]


async def test_a_relay_killed_mid_batch_and_restarted_delivers_every_committed_event(
    db, store, schema, database_url, broker
):
    topic = unique_topic()
    await create_topics(broker.bootstrap, topic)
    appender = GroupCommitAppender(db, store)
    await appender.start()
    await asyncio.gather(*(appender.append(f"request-{s}", new_events(30, f"r{s}"), 0) for s in range(100)))
    await appender.stop()
    total = 3000

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.processes", "relay", database_url, schema, topic,
             broker.bootstrap, str(broker.idempotence).lower(), "40"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    checkpoint = Checkpoint(schema, "relay")
    kills = 0
    for stop_at in (200, 900, 1700, 2500):
        process = start()
        while True:
            async with db.connect() as conn:
                published = await checkpoint.read(conn)
            if published >= stop_at or process.poll() is not None:
                break
            await asyncio.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    process = start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with db.connect() as conn:
            if await checkpoint.read(conn) == total:
                break
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()

    records = await read_topic(broker.bootstrap, topic, total)
    ids = {header(r, "ce_id") for r in records}
    assert kills == 4 and len(ids) == total
    assert stream_orders(records) == {f"r{s}": list(range(1, 31)) for s in range(100)}


async def test_the_relay_keeps_every_event_through_a_broker_restart(db, store, broker):
    topic = unique_topic()
    with embedded_broker() as own:
        port = int(own.bootstrap.rsplit(":", 1)[1])
        await create_topics(own.bootstrap, topic)
        settings = Settings(kafka_bootstrap_servers=own.bootstrap, kafka_idempotence=False)
        producer = make_producer(settings, "restart-relay")
        await producer.start()
        relay = OutboxRelay(db, store, producer, topic, poll_seconds=0.02)
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        async with db.begin() as conn:
            await store.append(conn, "request-a", new_events(5, "a"), 0)
        await until(lambda: _checkpoint_is(db, relay, 5))
    # The broker is gone; events keep being committed meanwhile.
    async with db.begin() as conn:
        await store.append(conn, "request-b", new_events(5, "b"), 0)
    await asyncio.sleep(0.5)
    with embedded_broker(port) as again:
        await create_topics(again.bootstrap, topic)
        # This broker restarted empty (memory only): rewind, as `make run` does by configuration.
        await relay.republish_from(0)
        await until(lambda: _checkpoint_is(db, relay, 10), timeout=60)
        records = await read_topic(again.bootstrap, topic, 10)
        stop.set()
        await running
        await producer.stop()
    assert len({header(r, "ce_id") for r in records}) == 10
    assert stream_orders(records) == {"a": [1, 2, 3, 4, 5], "b": [1, 2, 3, 4, 5]}


async def _checkpoint_is(db, relay, value) -> bool:  # noqa: ANN001
    async with db.connect() as conn:
        return await relay.checkpoint.read(conn) == value
