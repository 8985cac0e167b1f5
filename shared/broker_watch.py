"""Noticing that the broker lost what it acknowledged to the outbox relay, and putting it back.

A broker that comes back empty (the embedded one keeps everything in memory; a rebuilt Kafka
cluster) answers as if nothing happened: produce succeeds, offsets start again at 0. So the relay
remembers, per partition, the highest offset the broker acknowledged, in `<schema>.relay_acks`
(`<relay>-ack:<topic>:<partition>`) in the transaction that moves its checkpoint, and the cluster
id (`<relay>-cluster`, hashed to fit the bigint column). The broker lost something when
- a batch is acknowledged at or below a remembered offset of its partition (offsets only grow);
- or, checked every `broker_check_seconds` (idle too): the cluster id changed, the topic is gone,
  or the record at a remembered offset can no longer be fetched (a fetch, not ListOffsets, which
  Tansu answers wrongly). A partition count alone proves nothing: an operator may have added some.
Then the relay's topic is created as configured (replacing one the broker auto-created with its
default count: it holds only what is about to be republished), missing dead-letter topics too,
the remembered offsets are forgotten and the checkpoint goes back to 0: telling what survived
from what did not would mean reading the topic, and consumers drop the repeats.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import structlog
from aiokafka import TopicPartition
from aiokafka.errors import OffsetOutOfRangeError
from aiokafka.structs import RecordMetadata
from prometheus_client import Counter

from shared.db import Conn, fetch
from shared.kafka import describe_topics, ensure_topics, make_admin, make_consumer
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.outbox import OutboxRelay

log = structlog.get_logger(__name__)

BROKER_LOSS = Counter(
    "servicetrail_relay_broker_loss_total",
    "Times the relay found the broker had lost events it acknowledged, and republished them", ["service"],
)


class BrokerLost(Exception):
    """The broker no longer holds what it acknowledged; the message says how that showed."""


class BrokerWatch:
    """One relay's memory of what the broker acknowledged, and the checks against it."""

    def __init__(self, settings: Settings, also: Iterable[str] = (), check_seconds: float | None = None) -> None:
        """`also`: topics to keep as configured besides the relay's own (the service's dead letters)."""
        self.settings, self.also = settings, list(dict.fromkeys(also))
        self.check_seconds = check_seconds or settings.broker_check_seconds
        self._last_check, self._soon = -1e9, False

    async def record(self, relay: OutboxRelay, conn: Conn, acks: Sequence[RecordMetadata]) -> None:
        """Remember a batch's acknowledged offsets; BrokerLost if one is not above the last remembered."""
        spans: dict[str, list[int]] = {}
        for ack in acks:
            span = spans.setdefault(self._ack_name(relay, ack.topic, ack.partition), [ack.offset, ack.offset])
            span[0], span[1] = min(span[0], ack.offset), max(span[1], ack.offset)
        s = relay.checkpoint.schema
        # One round trip: `lost` reads the rows as they were before `saved` writes them.
        lost = await fetch(
            conn,
            f"WITH acks AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS a(name, first, last)), "
            f"lost AS (SELECT acks.name FROM acks JOIN {s}.relay_acks c USING (name) WHERE acks.first <= c.position), "
            f"saved AS (INSERT INTO {s}.relay_acks (name, position) SELECT name, last FROM acks "
            f"ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()) "
            f"SELECT name FROM lost",
            list(spans), [v[0] for v in spans.values()], [v[1] for v in spans.values()],
        )
        if lost:
            raise BrokerLost(f"acknowledged again offsets it had acknowledged before ({', '.join(r[0] for r in lost)})")

    def wants_check(self, relay: OutboxRelay) -> bool:
        """Check within a second, busy or not: a batch failed since the last check, or the producer
        has learnt its topic is not there (nothing auto-creates it)."""
        return self._soon or relay.producer.client.cluster.partitions_for_topic(relay.topic) is None

    def check_soon(self) -> None:
        """A batch failed: it may have waited for a topic the broker lost (nothing auto-creates it)."""
        self._soon = True

    async def check_if_due(self, relay: OutboxRelay) -> None:
        """Every `check_seconds`, as the relay's leader: BrokerLost if the broker lost anything.

        Within a second when a batch failed or the producer has learnt the topic is not there."""
        soon = self.wants_check(relay)
        if time.monotonic() < self._last_check + (min(1.0, self.check_seconds) if soon else self.check_seconds):
            return
        self._last_check, self._soon = time.monotonic(), False  # also when the broker is away
        async with relay.db.begin() as conn:
            if not await relay.checkpoint.try_lead(conn, relay.store.lease):
                return
            async with asyncio.timeout(relay.store.lease.work_seconds):
                await self._check(relay, conn)

    async def _check(self, relay: OutboxRelay, conn: Conn) -> None:
        remembered, cluster = await self._remembered(relay, conn)
        admin = make_admin(self.settings)
        await admin.start()
        try:
            current, partitions = await describe_topics(admin, [relay.topic, *self.also])
        finally:
            await admin.close()
        if remembered and cluster is not None and current is not None and cluster != _hash(current):
            raise BrokerLost(f"the cluster id is now {current}")
        if remembered and relay.topic not in partitions:
            raise BrokerLost(f"topic {relay.topic} is gone")
        if gone := await self._unreadable(remembered):
            raise BrokerLost(f"the acknowledged records at {', '.join(f'{t}:{p}@{o}' for t, p, o in gone)} are gone")
        if current is not None and cluster != _hash(current):
            await self._save_cluster(relay, conn, current)
        if missing := [t for t in [relay.topic, *self.also] if t not in partitions]:
            await ensure_topics(self.settings, missing)  # before anything is produced to them
        if relay.producer.client.cluster.partitions_for_topic(relay.topic) is None:
            await relay.producer.partitions_for(relay.topic)  # so that its absence means something
        for topic, count in partitions.items():
            if count != self.settings.topic_partitions:
                log.warning("topic has not the configured partition count", topic=topic, partitions=count,
                            configured=self.settings.topic_partitions)

    async def recover(self, relay: OutboxRelay, lost: BrokerLost) -> None:
        """Topics as configured first (nothing may be produced to a default one), then republish all."""
        async with relay.db.begin() as conn:
            if not await relay.checkpoint.try_lead(conn, relay.store.lease):
                return  # the leader's own batch or check will find the same
            async with asyncio.timeout(relay.store.lease.work_seconds):
                await ensure_topics(self.settings, [relay.topic], replace_mismatched=True)
                await ensure_topics(self.settings, self.also)
                await relay.producer.client.force_metadata_update()  # forget partitions that are gone
                admin = make_admin(self.settings)
                await admin.start()
                try:
                    current, _ = await describe_topics(admin, [])
                finally:
                    await admin.close()
            await fetch(conn, f"DELETE FROM {relay.checkpoint.schema}.relay_acks WHERE starts_with(name, $1)",
                        f"{relay.checkpoint.name}-ack:")
            if current is not None:
                await self._save_cluster(relay, conn, current)
            await relay.checkpoint.save(conn, 0)
        self._last_check = time.monotonic()
        BROKER_LOSS.labels(relay.store.schema).inc()
        log.warning("the broker lost events it had acknowledged; republishing all", reason=str(lost),
                    topic=relay.topic, schema=relay.store.schema)

    async def _remembered(self, relay: OutboxRelay, conn: Conn) -> tuple[dict[TopicPartition, int], int | None]:
        rows = await fetch(conn, f"SELECT name, position FROM {relay.checkpoint.schema}.relay_acks "
                                 f"WHERE starts_with(name, $1)", f"{relay.checkpoint.name}-")
        acks = {}
        for name, position in rows:
            if name.startswith(prefix := self._ack_name(relay, relay.topic, "")):  # another topic's: stale
                acks[TopicPartition(relay.topic, int(name[len(prefix):]))] = int(position)
        cluster = next((int(p) for n, p in rows if n == f"{relay.checkpoint.name}-cluster"), None)
        return acks, cluster

    async def _unreadable(self, remembered: dict[TopicPartition, int]) -> list[tuple[str, int, int]]:
        """The remembered records a fetch does not return (it answers at once for those it has)."""
        if not remembered:
            return []
        reader = make_consumer(self.settings, None, auto_offset_reset="none", max_partition_fetch_bytes=4096)
        await reader.start()
        try:
            reader.assign(list(remembered))
            for tp, offset in remembered.items():
                reader.seek(tp, offset)
            seen: set[TopicPartition] = set()
            deadline = time.monotonic() + 2.0
            while len(seen) < len(remembered) and time.monotonic() < deadline:
                try:
                    batches = await reader.getmany(timeout_ms=200)
                except OffsetOutOfRangeError:  # the log now ends (or starts) elsewhere
                    break
                seen |= {tp for tp, records in batches.items() if records}
                reader.pause(*seen)
            return [(tp.topic, tp.partition, o) for tp, o in remembered.items() if tp not in seen]
        finally:
            await reader.stop()

    async def _save_cluster(self, relay: OutboxRelay, conn: Conn, cluster: str) -> None:
        await fetch(conn, f"INSERT INTO {relay.checkpoint.schema}.relay_acks (name, position) VALUES ($1, $2) "
                          f"ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
                    f"{relay.checkpoint.name}-cluster", _hash(cluster))

    @staticmethod
    def _ack_name(relay: OutboxRelay, topic: str, partition: int | str) -> str:
        return f"{relay.checkpoint.name}-ack:{topic}:{partition}"


def _hash(cluster: str) -> int:
    return int.from_bytes(hashlib.blake2b(cluster.encode(), digest_size=8).digest(), "big", signed=True)
