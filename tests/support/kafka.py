"""Reading and writing topics directly, as an outside observer of the broker."""
from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.envelope import Envelope, to_kafka
from shared.kafka import ensure_topics
from shared.settings import Settings


def unique_topic(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}.events"


async def create_topics(bootstrap: str, *topics: str, partitions: int = 3) -> None:
    await ensure_topics(Settings(kafka_bootstrap_servers=bootstrap, topic_partitions=partitions), topics)


async def produce(bootstrap: str, topic: str, envelopes: list[Envelope], raw: list[tuple[bytes, bytes]] = ()) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for env in envelopes:
            key, headers, value = to_kafka(env)
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
        for key, value in raw:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, at_least: int, timeout: float = 30.0) -> list[ConsumerRecord]:
    """Every record from the beginning, once at least `at_least` have arrived (or time is up)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic, timeout)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while len(records) < at_least and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str, timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return partitions
        await asyncio.sleep(0.1)
    raise TimeoutError(f"topic {topic} never appeared")


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode()
    return None
