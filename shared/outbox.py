"""Transactional outbox relay: the event store is the outbox.

Only committed events get a global position, so only they are seen here. Each batch is published
in position order with acks=all, then the checkpoint moves; a crash between the two re-publishes
the batch (at least once; consumers drop the repeats). One relay per schema is active at a time,
held by a transaction-scoped advisory lock that dies with its holder, or with its lease when the
holder hangs. A `BrokerWatch` (shared/broker_watch.py) notices a broker that lost what it had
acknowledged and makes the relay republish it.
"""
from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.broker_watch import BrokerLost, BrokerWatch
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
        watch: BrokerWatch | None = None,
    ) -> None:
        super().__init__(db, store, Checkpoint(store.schema, name), batch_size=batch_size,
                         poll_seconds=poll_seconds, linger_seconds=linger_seconds)
        self.producer, self.topic, self.watch = producer, topic, watch
        self.service = store.source.rsplit("/", 1)[-1]
        self._published_at = 0.0  # monotonic time of the last batch published

    async def run_once(self) -> int:
        if self.watch is None:
            return await super().run_once()
        try:
            # While batches flow, their acknowledgements show a loss (offsets going back); the
            # broker is asked separately only when the relay has been quiet, so checking never
            # holds back events in flight.
            if self.watch.wants_check(self) or time.monotonic() - self._published_at >= self.watch.check_seconds:
                await self.watch.check_if_due(self)
            return await super().run_once()
        except BrokerLost as lost:  # the batch's transaction rolled back; the watch rewinds
            await self.watch.recover(self, lost)
            return 0
        except Exception:
            self.watch.check_soon()
            raise

    async def handle(self, conn: Conn, events: list[Envelope]) -> None:
        # Within the lease: a slow broker makes this leader give up (roll back, retry) before
        # PostgreSQL cuts its session off; either way the checkpoint stays behind the batch.
        async with asyncio.timeout(self.store.lease.work_seconds):
            sent = []
            for env in events:
                key, headers, value = to_kafka(env)
                with tracing.span(f"publish {env.name}", self.service, SpanKind.PRODUCER, env.traceparent,
                                  **{"messaging.destination.name": self.topic}):
                    sent.append(await self.producer.send(self.topic, value=value, key=key, headers=headers))
            acks = await asyncio.gather(*sent)  # acks=all for the whole batch before the checkpoint moves
        if self.watch is not None:
            await self.watch.record(self, conn, acks)
        self._published_at = time.monotonic()
        RELAY_PUBLISHED.labels(self.store.schema).inc(len(events))
        RELAY_POSITION.labels(self.store.schema).set(events[-1].position or 0)

    async def republish_from(self, position: int) -> None:
        await self.checkpoint.rewind(self.db, position, self.store.lease)
