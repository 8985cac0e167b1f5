"""Transactional outbox relay: the event store is the outbox.

Only committed events get a global position, so only they are seen here. Each batch is published
in position order with acks=all, then the checkpoint moves; a crash between the two re-publishes
the batch (at least once; consumers drop the repeats). One relay per schema is active at a time,
held by a transaction-scoped advisory lock that dies with its holder.
"""
from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

from shared.checkpoint import Checkpoint
from shared.db import Database, relaxed_commit
from shared.envelope import Envelope, to_kafka
from shared.eventstore import EventStore
from shared.follower import Follower
from shared.metrics import RELAY_POSITION, RELAY_PUBLISHED


class OutboxRelay(Follower):
    """Publishes one service's events to its topic, keyed by subject."""

    def __init__(
        self,
        db: Database,
        store: EventStore,
        producer: AIOKafkaProducer,
        topic: str,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.25,
        linger_seconds: float = 0.0,
        name: str = "relay",
    ) -> None:
        super().__init__(batch_size, poll_seconds, linger_seconds)
        self.db, self.store, self.producer, self.topic = db, store, producer, topic
        self.checkpoint = Checkpoint(store.schema, name)

    async def run_once(self) -> int:
        """Sequence, publish one batch, advance the checkpoint; returns how many were published."""
        async with self.db.begin() as conn:
            await self.store.assign_positions(conn)
        async with self.db.begin() as conn:
            if not await self.checkpoint.try_lead(conn):
                return 0
            await relaxed_commit(conn)
            position = await self.checkpoint.read(conn)
            events = await self.store.read_all(conn, position, self.batch_size)
            if not events:
                return 0
            await self._publish(events)
            await self.checkpoint.save(conn, events[-1].position or position)
        RELAY_PUBLISHED.labels(self.store.schema).inc(len(events))
        RELAY_POSITION.labels(self.store.schema).set(events[-1].position or 0)
        return len(events)

    async def republish_from(self, position: int) -> None:
        await self.checkpoint.rewind(self.db, position)

    async def _publish(self, events: list[Envelope]) -> None:
        sent = []
        for env in events:
            key, headers, value = to_kafka(env)
            sent.append(await self.producer.send(self.topic, value=value, key=key, headers=headers))
        await asyncio.gather(*sent)
