"""Transactional outbox relay: the event store is the outbox.

Only committed events get a global position, so only they are seen here. Each batch is published
in position order with acks=all, then the checkpoint moves; a crash between the two re-publishes
the batch (at least once; consumers drop the repeats). One relay per schema is active at a time,
held by a transaction-scoped advisory lock that dies with its holder.
"""
from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.aio import wait_or_timeout
from shared.checkpoint import Checkpoint
from shared.envelope import Envelope, to_kafka
from shared.eventstore import EventStore
from shared.metrics import RELAY_POSITION, RELAY_PUBLISHED

log = structlog.get_logger(__name__)


class OutboxRelay:
    """Publishes one service's events to its topic, keyed by subject."""

    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        producer: AIOKafkaProducer,
        topic: str,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.25,
        name: str = "relay",
    ) -> None:
        self.engine, self.store, self.producer, self.topic = engine, store, producer, topic
        self.batch_size, self.poll_seconds = batch_size, poll_seconds
        self.checkpoint = Checkpoint(store.schema, name)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was committed: look now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Sequence, publish one batch, advance the checkpoint; returns how many were published."""
        async with self.engine.begin() as conn:
            await self.store.assign_positions(conn)
        async with self.engine.begin() as conn:
            if not await self.checkpoint.try_lead(conn):
                return 0
            position = await self.checkpoint.read(conn)
            events = await self.store.read_all(conn, position, self.batch_size)
            if not events:
                return 0
            await self._publish(events)
            await self.checkpoint.save(conn, events[-1].position or position)
        RELAY_PUBLISHED.labels(self.store.schema).inc(len(events))
        RELAY_POSITION.labels(self.store.schema).set(events[-1].position or 0)
        return len(events)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                published = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: keep trying, lose nothing
                log.warning("relay batch failed; retrying", error=repr(exc), schema=self.store.schema)
                published = 0
                await wait_or_timeout(stop, 1.0)
            if published < self.batch_size:
                await wait_or_timeout(self._wake, self.poll_seconds)
                self._wake.clear()

    async def republish_from(self, position: int) -> None:
        await self.checkpoint.rewind(self.engine, position)

    async def _publish(self, events: list[Envelope]) -> None:
        sent = []
        for env in events:
            key, headers, value = to_kafka(env)
            sent.append(await self.producer.send(self.topic, value=value, key=key, headers=headers))
        await asyncio.gather(*sent)
