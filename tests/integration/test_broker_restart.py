"""The relay through a broker restart that loses what it had acknowledged (issue 11, defect 4).

The embedded broker keeps everything in memory, so killing it and starting it again on the same
port is exactly "the broker lost every topic and offset". Nothing here republishes by hand: the
relay has to notice and put every event back, on topics with the configured partitions.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import RecordMetadata

from shared.broker_watch import BROKER_LOSS, BrokerLost, BrokerWatch
from shared.consumer import ConsumerRunner, dead_letter_topic
from shared.db import Database, fetch
from shared.eventstore import EventStore
from shared.kafka import ensure_topics, make_consumer, make_producer
from shared.outbox import OutboxRelay
from shared.runtime.embedded import EmbeddedBroker
from shared.settings import Settings
from tests.conftest import ROOT
from tests.integration.test_consumer_runner import effects, make_effects_table
from tests.support.events import new_events
from tests.support.kafka import header, read_topic, unique_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

PARTITIONS = 3  # not Tansu's auto-create default (4), so a topic auto-created after the restart shows
# The embedded broker takes a new cluster id at each start, which gives a restart away at once; one
# that keeps its id (Tansu's default, or a Kafka cluster that lost a topic) must be caught by the
# topic being gone, the offsets acknowledged again, or the records no longer there.
CLUSTER_IDS = pytest.mark.parametrize("cluster_id", [None, "servicetrail-same"], ids=["new-cluster-id", "same-cluster-id"])


class Pipeline:
    """Own broker, a relay and a consumer group on it; the broker can be killed and started again."""

    def __init__(self, db: Database, store: EventStore, schema: str, check_seconds: float, cluster_id: str | None) -> None:
        self.db, self.store, self.schema = db, store, schema
        self.server = EmbeddedBroker(log_path=ROOT / "var" / "test-broker-restart.log", cluster_id=cluster_id)
        self.topic, self.group = unique_topic("restart"), f"g-{schema}"
        self.dlq = dead_letter_topic(self.group)
        self.check_seconds = check_seconds
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        (ROOT / "var").mkdir(exist_ok=True)
        self.settings = Settings(kafka_bootstrap_servers=self.server.start(), kafka_idempotence=False,
                                 topic_partitions=PARTITIONS, consumer_session_timeout_ms=3000)
        await ensure_topics(self.settings, [self.topic, self.dlq])
        await make_effects_table(self.db, self.schema)
        self.producer = make_producer(self.settings, "restart-relay")
        await self.producer.start()
        watch = BrokerWatch(self.settings, also=[self.dlq], check_seconds=self.check_seconds)
        self.relay = OutboxRelay(self.db, self.store, self.producer, self.topic, poll_seconds=0.02, watch=watch)
        schema = self.schema

        async def record(conn, env) -> None:  # noqa: ANN001
            await fetch(conn, f"INSERT INTO {schema}.effects VALUES ($1, 1) ON CONFLICT (event_id) "
                              f"DO UPDATE SET applied = {schema}.effects.applied + 1", env.id)

        runner = ConsumerRunner(name=self.group, consumer=make_consumer(self.settings, self.group, self.topic),
                                producer=self.producer, db=self.db, schema=self.schema, handler=record)
        self.tasks = [asyncio.create_task(self.relay.run(self.stop)), asyncio.create_task(runner.run(self.stop))]

    def kill_and_restart(self) -> None:
        pid = self.server.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # only our own broker, by its pid
        self.server.wait()
        self.server.start()  # same port, empty: every topic and offset is gone

    async def append(self, prefix: str, streams: int = 20, per_stream: int = 5) -> None:
        async with self.db.begin() as conn:
            for s in range(streams):
                await self.store.append(conn, f"request-{prefix}{s}", new_events(per_stream, f"{prefix}{s}"), 0)
        self.relay.wake()

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.producer.stop()
        self.server.stop()

    def losses_noticed(self) -> float:
        return BROKER_LOSS.labels(self.schema)._value.get()

    async def all_ids(self) -> set[str]:
        async with self.db.connect() as conn:
            return {str(r[0]) for r in await fetch(conn, f"SELECT event_id FROM {self.schema}.events")}

    async def partitions(self) -> dict[str, int]:
        """Partition counts of the topics that exist, asked without creating any (list first)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.server.bootstrap)
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if t in (self.topic, self.dlq)]
            described = await admin.describe_topics(names) if names else []
            return {d["topic"]: len(d["partitions"]) for d in described}
        finally:
            await admin.close()

    async def ids_on_topic(self, expected: int) -> set[str]:
        records = await read_topic(self.server.bootstrap, self.topic, expected, timeout=5)
        return {header(r, "ce_id") for r in records}


async def _applied(pipeline: Pipeline, n: int) -> bool:
    return len(await effects(pipeline.db, pipeline.schema)) >= n


async def _topics_as_configured(pipeline: Pipeline) -> bool:
    return await pipeline.partitions() == {pipeline.topic: PARTITIONS, pipeline.dlq: PARTITIONS}


@CLUSTER_IDS
async def test_events_relayed_before_and_after_a_broker_restart_are_all_on_the_topic_again(db, store, schema, cluster_id):
    pipeline = Pipeline(db, store, schema, check_seconds=300, cluster_id=cluster_id)  # the acks alone must tell, not the timer
    await pipeline.start()
    try:
        await pipeline.append("a")
        await until(lambda: _applied(pipeline, 100), timeout=30)
        pipeline.kill_and_restart()
        await pipeline.append("b")
        await until(lambda: _applied(pipeline, 200), timeout=30)
        await settled(lambda: _topics_as_configured(pipeline), timeout=30)
        assert await pipeline.partitions() == {pipeline.topic: PARTITIONS, pipeline.dlq: PARTITIONS}
        expected = await pipeline.all_ids()
        assert len(expected) == 200
        await settled(lambda: _all_there(pipeline, expected), timeout=30)
        assert expected - await pipeline.ids_on_topic(200) == set()  # old and new, with no manual republish
        assert set((await effects(db, schema)).values()) == {1}  # the consumer applied each once
        assert pipeline.losses_noticed() == 1
    finally:
        await pipeline.close()


@CLUSTER_IDS
async def test_an_idle_relay_notices_the_restart_and_republishes_within_the_check_interval(db, store, schema, cluster_id):
    pipeline = Pipeline(db, store, schema, check_seconds=0.5, cluster_id=cluster_id)
    await pipeline.start()
    try:
        await pipeline.append("a")
        await until(lambda: _applied(pipeline, 100), timeout=30)
        pipeline.kill_and_restart()  # and nothing new is committed afterwards
        await settled(lambda: _topics_as_configured(pipeline), timeout=15)
        assert await pipeline.partitions() == {pipeline.topic: PARTITIONS, pipeline.dlq: PARTITIONS}
        expected = await pipeline.all_ids()
        await settled(lambda: _all_there(pipeline, expected), timeout=15)
        assert expected - await pipeline.ids_on_topic(100) == set()
        assert set((await effects(db, schema)).values()) == {1}
        assert pipeline.losses_noticed() == 1
    finally:
        await pipeline.close()


async def settled(check, timeout: float) -> None:  # noqa: ANN001
    """Wait for `check`, then let the assertion after it say what is wrong if it never came."""
    with contextlib.suppress(AssertionError):
        await until(check, timeout)


async def _all_there(pipeline: Pipeline, expected: set[str]) -> bool:
    return await pipeline.ids_on_topic(len(expected)) >= expected


async def test_a_topic_auto_created_after_the_restart_is_replaced_by_one_with_the_configured_partitions(
    db, store, schema
):
    pipeline = Pipeline(db, store, schema, check_seconds=0.5, cluster_id="servicetrail-same")
    await pipeline.start()
    try:
        await pipeline.append("a")
        await until(lambda: _applied(pipeline, 100), timeout=30)
        pipeline.kill_and_restart()
        # Something outside gets in first: the topic is back with the broker's auto-create count
        # (Tansu's 4), holding none of the acknowledged records and one of its own. Made in one
        # request: an auto-creating producer still retrying its send while the relay replaces the
        # topic can make it again after the replacement, a race of the test's own (this test
        # failed in 2 of 5 full runs on 2026-11-25 with the topic left at 4 partitions).
        admin = AIOKafkaAdminClient(bootstrap_servers=pipeline.server.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(pipeline.topic, num_partitions=4, replication_factor=1)])
        finally:
            await admin.close()
        outsider = make_producer(pipeline.settings, "outsider")  # one that never auto-creates
        await outsider.start()
        await outsider.send_and_wait(pipeline.topic, b"{}", key=b"outsider")
        await outsider.stop()
        await settled(lambda: _topics_as_configured(pipeline), timeout=15)
        assert await pipeline.partitions() == {pipeline.topic: PARTITIONS, pipeline.dlq: PARTITIONS}
        expected = await pipeline.all_ids()
        await settled(lambda: _all_there(pipeline, expected), timeout=15)
        assert expected - await pipeline.ids_on_topic(100) == set()
        assert pipeline.losses_noticed() == 1
    finally:
        await pipeline.close()


async def test_a_batch_acknowledged_at_offsets_already_acknowledged_is_a_loss_and_rolls_back(db, store, schema):
    watch = BrokerWatch(Settings(kafka_bootstrap_servers="unused:9092"))
    relay = OutboxRelay(db, store, AIOKafkaProducer(bootstrap_servers="unused:9092"), "t.events", watch=watch)

    def ack(partition: int, offset: int) -> RecordMetadata:
        tp = TopicPartition("t.events", partition)
        return RecordMetadata("t.events", partition, tp, offset, -1, 0, -1)

    async with db.begin() as conn:
        await watch.record(relay, conn, [ack(0, 7), ack(0, 8), ack(1, 3)])
    async with db.begin() as conn:
        await watch.record(relay, conn, [ack(0, 9), ack(2, 0)])  # above what was remembered, or new
    with pytest.raises(BrokerLost, match="relay-ack:t.events:0"):
        async with db.begin() as conn:
            await watch.record(relay, conn, [ack(1, 4), ack(0, 0), ack(0, 1)])  # partition 0 started again
    async with db.connect() as conn:
        rows = dict(await fetch(conn, f"SELECT name, position FROM {schema}.relay_acks"))
    assert rows == {"relay-ack:t.events:0": 9, "relay-ack:t.events:1": 3, "relay-ack:t.events:2": 0}


async def test_a_topic_auto_created_again_while_it_is_being_replaced_is_replaced_once_more(broker, monkeypatch):
    """Between deleting a topic of the wrong count and creating it as configured, an outside client
    that lets the broker auto-create (the one that made it, still retrying its send) can have it
    made again with the broker's default count; the creation then finds it there."""
    from shared import kafka
    from tests.support.kafka import unique_topic

    settings = Settings(kafka_bootstrap_servers=broker.bootstrap, topic_partitions=PARTITIONS)
    topic = unique_topic("replace")

    async def auto_create() -> None:
        outsider = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)  # lets the broker auto-create
        await outsider.start()
        try:
            await outsider.send_and_wait(topic, b"{}", key=b"outsider")
        finally:
            await outsider.stop()

    await auto_create()
    gone, raced = kafka._until_gone, []

    async def until_gone_then_raced(admin, topics, timeout=30):  # noqa: ANN001
        await gone(admin, topics, timeout)
        if not raced:  # once: the auto-creation that wins the race with the creation
            raced.append(topic)
            await auto_create()

    monkeypatch.setattr(kafka, "_until_gone", until_gone_then_raced)
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        assert len((await admin.describe_topics([topic]))[0]["partitions"]) != PARTITIONS  # the broker's default
        await ensure_topics(settings, [topic], replace_mismatched=True)
        assert raced == [topic]
        assert len((await admin.describe_topics([topic]))[0]["partitions"]) == PARTITIONS
    finally:
        await admin.close()
