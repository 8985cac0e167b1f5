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
from shared.db import Conn, Database
from shared.envelope import Envelope, to_kafka
from shared.eventstore import EventStore
from shared.follower import PositionFollower
from shared.metrics import RELAY_POSITION, RELAY_PUBLISHED


class OutboxRelay(PositionFollower):
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
        super().__init__(db, store, Checkpoint(store.schema, name), batch_size=batch_size,
                         poll_seconds=poll_seconds, linger_seconds=linger_seconds)
        self.producer, self.topic = producer, topic

    async def handle(self, conn: Conn, events: list[Envelope]) -> None:
        sent = []
        for env in events:
            key, headers, value = to_kafka(env)
            sent.append(await self.producer.send(self.topic, value=value, key=key, headers=headers))
        await asyncio.gather(*sent)  # acks=all for the whole batch before the checkpoint moves
        RELAY_PUBLISHED.labels(self.store.schema).inc(len(events))
        RELAY_POSITION.labels(self.store.schema).set(events[-1].position or 0)

    async def republish_from(self, position: int) -> None:
        await self.checkpoint.rewind(self.db, position)
