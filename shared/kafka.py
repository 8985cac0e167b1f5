"""aiokafka clients configured one way for every service; broker differences are settings only.

No client here lets the broker create a topic on its own (Kafka's `allow.auto.create.topics=false`):
a metadata request that auto-creates makes the topic with the broker's default partition count (4
on Tansu), e.g. a consumer asking about a topic the broker lost in a restart. Topics are created
only by `ensure_topics`, with the configured partitions, before anything is produced to them.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient, ConnectionGroup
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.protocol.metadata import MetadataRequest

from shared.settings import Settings

log = logging.getLogger("aiokafka.client")  # where aiokafka says the same things


class _NoAutoCreateClient(AIOKafkaClient):
    """Asks for metadata with allow_auto_topic_creation=false (aiokafka always asks for true)."""

    async def send(self, node_id, request, *, group=ConnectionGroup.DEFAULT):  # noqa: ANN001, ANN201
        # The admin client's requests (describe_topics would create what it describes).
        if isinstance(request, MetadataRequest) and request._allow_auto_topic_creation is None:
            request = MetadataRequest(request._topics, allow_auto_topic_creation=False)
        return await super().send(node_id, request, group=group)

    async def _metadata_update(self, cluster_metadata, topics):  # noqa: ANN001, ANN202
        # aiokafka 0.14's own (pinned in constraints.txt), with auto-creation off: consumers and
        # producers refresh metadata here, straight on a connection rather than through `send`.
        request = MetadataRequest(list(topics) if topics else None, allow_auto_topic_creation=False)
        bootstrap_id = ("bootstrap", ConnectionGroup.DEFAULT)
        node_ids = [b.nodeId for b in self.cluster.brokers()] + (["bootstrap"] if bootstrap_id in self._conns else [])
        random.shuffle(node_ids)
        for node_id in node_ids:
            conn = await self._get_conn(node_id)
            if conn is None:
                continue
            try:
                metadata = await conn.send(request)
            except (KafkaError, asyncio.TimeoutError) as err:
                log.warning("Unable to request metadata from node with id %s: %r", node_id, err)
                continue
            if not metadata.brokers:
                return False
            cluster_metadata.update_metadata(metadata)
            if bootstrap_id in self._conns and len(self.cluster.brokers()):
                self._conns.pop(bootstrap_id).close()
            return True
        log.error("Unable to update metadata from %s", node_ids)
        cluster_metadata.failed_update(None)
        return False


def _no_auto_create(client: AIOKafkaClient) -> None:
    # aiokafka builds its client inside each consumer, producer and admin: switch that one's class.
    client.__class__ = _NoAutoCreateClient


def bootstrap(settings: Settings) -> str:
    if not settings.kafka_bootstrap_servers:
        raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set (make run starts an embedded broker)")
    return settings.kafka_bootstrap_servers


def make_producer(settings: Settings, client_id: str) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=2,
        request_timeout_ms=15_000,
    )
    _no_auto_create(producer.client)
    return producer


def make_consumer(settings: Settings, group_id: str | None, *topics: str, **options: object) -> AIOKafkaConsumer:
    """A group member (or, with group_id None, a reader that commits nothing); `options` override."""
    config: dict[str, object] = dict(
        bootstrap_servers=bootstrap(settings),
        group_id=group_id,
        client_id=group_id or "servicetrail-reader",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed" if settings.kafka_idempotence else "read_uncommitted",
        max_poll_records=500,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        heartbeat_interval_ms=max(settings.consumer_session_timeout_ms // 4, 250),
    )
    consumer = AIOKafkaConsumer(*topics, **{**config, **options})
    _no_auto_create(consumer._client)
    return consumer


def make_admin(settings: Settings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(settings), client_id="servicetrail-admin")
    _no_auto_create(admin._client)
    return admin


async def describe_topics(admin: AIOKafkaAdminClient, topics: Iterable[str]) -> tuple[str | None, dict[str, int]]:
    """The cluster id, and the partition count of each of `topics` that exists (none is created)."""
    cluster = (await admin.describe_cluster()).get("cluster_id")
    names = list(dict.fromkeys(topics))
    found = await admin.describe_topics(names) if names else []
    return cluster, {t["topic"]: len(t["partitions"]) for t in found if t["error_code"] == 0}


ENSURE_ATTEMPTS = 5


async def ensure_topics(settings: Settings, topics: Iterable[str], *, replace_mismatched: bool = False) -> None:
    """Create missing topics with the configured partition count.

    An existing topic is left alone, unless `replace_mismatched` and its partition count is not the
    configured one: then it is deleted and created again. Only for topics known to hold nothing
    worth keeping (the broker lost them and something re-created them with its default count).
    Returns once every topic stands as asked; raises if that takes more than ENSURE_ATTEMPTS.
    """
    admin = make_admin(settings)
    await admin.start()
    try:
        wanted = list(dict.fromkeys(topics))
        for _ in range(ENSURE_ATTEMPTS):
            _, existing = await describe_topics(admin, wanted)
            wrong = [t for t, n in existing.items() if n != settings.topic_partitions] if replace_mismatched else []
            missing = [t for t in wanted if t not in existing or t in wrong]
            if not missing:
                return
            if wrong:
                _raise_errors((await admin.delete_topics(wrong)).topic_error_codes)
                await _until_gone(admin, wrong)
            response = await admin.create_topics(
                [NewTopic(name=t, num_partitions=settings.topic_partitions, replication_factor=1) for t in missing])
            # Already there: a replica starting alongside won the race, or, between the deletion and
            # this, an outside client (one that lets the broker auto-create, as aiokafka's default
            # does; ours do not) had it made again with the broker's default count: looked at again.
            _raise_errors(response.topic_errors, ignore=TopicAlreadyExistsError)
        raise KafkaError(f"topics {wanted} not as configured ({settings.topic_partitions} partitions) "
                         f"after {ENSURE_ATTEMPTS} attempts")
    finally:
        await admin.close()


def _raise_errors(results: Iterable[tuple], ignore: type[KafkaError] | None = None) -> None:
    # aiokafka's admin answers errors per topic in the response instead of raising them.
    for topic, code, *_ in results:
        if code and (ignore is None or for_code(code) is not ignore):
            raise for_code(code)(f"topic {topic}")


async def _until_gone(admin: AIOKafkaAdminClient, topics: list[str], timeout: float = 30) -> None:
    # Kafka deletes in the background; creating the same name before it is gone fails.
    deadline = time.monotonic() + timeout
    while set(topics) & set(await admin.list_topics()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics {topics} still there {timeout}s after their deletion")
        await asyncio.sleep(0.1)


async def broker_reachable(producer: AIOKafkaProducer, timeout: float = 2.0) -> bool:
    try:
        return bool(await asyncio.wait_for(producer.client.force_metadata_update(), timeout))
    except Exception:
        return False
