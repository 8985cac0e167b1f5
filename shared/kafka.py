"""aiokafka clients configured one way for every service; broker differences are settings only."""
from __future__ import annotations

import asyncio
from typing import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.settings import Settings


def bootstrap(settings: Settings) -> str:
    if not settings.kafka_bootstrap_servers:
        raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set (make run starts an embedded broker)")
    return settings.kafka_bootstrap_servers


def make_producer(settings: Settings, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=2,
        request_timeout_ms=15_000,
    )


def make_consumer(settings: Settings, group_id: str, *topics: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap(settings),
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed" if settings.kafka_idempotence else "read_uncommitted",
        max_poll_records=500,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        heartbeat_interval_ms=max(settings.consumer_session_timeout_ms // 4, 250),
    )


async def ensure_topics(settings: Settings, topics: Iterable[str]) -> None:
    """Create missing topics with the configured partition count; existing ones are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(settings), client_id="servicetrail-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name=t, num_partitions=settings.topic_partitions, replication_factor=1)
            for t in dict.fromkeys(topics)
            if t not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # a replica starting alongside won the race
    finally:
        await admin.close()


async def broker_reachable(producer: AIOKafkaProducer, timeout: float = 2.0) -> bool:
    try:
        return bool(await asyncio.wait_for(producer.client.force_metadata_update(), timeout))
    except Exception:
        return False
