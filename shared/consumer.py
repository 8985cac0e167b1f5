"""Consumer runner: at-least-once delivery, exactly-once effect.

For each record the handler's writes and the record of what was applied commit in one
transaction; a redelivered event finds its record and is skipped. Offsets are committed to Kafka
only after the database commit, so a crash anywhere replays, never loses. A handler that keeps
failing gets bounded retries, then its record goes to the dead-letter topic and the partition
moves on. An unreachable database is not the event's fault: it is waited out, not dead-lettered.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Iterable

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared import context
from shared.aio import wait_or_timeout
from shared.db import Conn, Database, fetch, ident, is_unavailable
from shared.envelope import Envelope, MalformedMessage, from_kafka
from shared.metrics import CONSUMER_APPLIED, CONSUMER_DEAD_LETTERED, CONSUMER_LAG, CONSUMER_SKIPPED

log = structlog.get_logger(__name__)

Handler = Callable[[Conn, Envelope], Awaitable[None]]


def dead_letter_topic(consumer: str) -> str:
    return f"{consumer}.dlq"


class ConsumerRunner:
    """Runs one consumer group member; `handler` is called inside the applying transaction."""

    def __init__(
        self,
        *,
        name: str,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        db: Database,
        schema: str,
        handler: Handler,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        after_commit: Iterable[Callable[[], None]] = (),
    ) -> None:
        self.name, self.consumer, self.producer, self.db = name, consumer, producer, db
        self.handler, self.max_attempts, self.backoff = handler, max_attempts, backoff_seconds
        self.after_commit = list(after_commit)
        s = ident(schema)
        self._claim_sql = (
            f"INSERT INTO {s}.applied_events AS a (consumer, stream, version, event_id) "
            f"VALUES ($1, $2, $3, $4::uuid) ON CONFLICT (consumer, stream) DO UPDATE "
            f"SET version = EXCLUDED.version, event_id = EXCLUDED.event_id, applied_at = now() "
            f"WHERE a.version < EXCLUDED.version RETURNING 1"
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        try:
            while not stop.is_set():
                batches = await self.consumer.getmany(timeout_ms=200)
                # Partitions are independent (a key stays in one), so they proceed side by side;
                # within a partition records are applied strictly in order.
                done = await asyncio.gather(*(self._partition(records, stop) for records in batches.values()))
                offsets = {tp: finished for tp, finished in zip(batches, done, strict=True) if finished is not None}
                if offsets:
                    await self.consumer.commit(offsets)
                await self._report_lag()
        finally:
            await self.consumer.stop()

    async def _partition(self, records: list[ConsumerRecord], stop: asyncio.Event) -> int | None:
        """Apply a partition's records in order; the offset to commit, or None if none finished."""
        finished = None
        for record in records:
            if not await self._process(record, stop):
                break  # stopping mid-way: the rest is redelivered to whoever comes next
            finished = record.offset + 1
        return finished

    async def _process(self, record: ConsumerRecord, stop: asyncio.Event) -> bool:
        """Apply, skip or dead-letter one record; False only when stopping left it unfinished."""
        try:
            env = from_kafka(record.headers, record.key, record.value)
        except MalformedMessage as exc:
            await self._dead_letter(record, exc, attempts=1)
            return True
        failures = 0
        while True:
            try:
                applied = await self._apply(env)
                (CONSUMER_APPLIED if applied else CONSUMER_SKIPPED).labels(self.name, record.topic).inc()
                return True
            except Exception as exc:
                if is_unavailable(exc):  # not the event's fault: no attempt is counted
                    log.warning("database unavailable; waiting", error=repr(exc), consumer=self.name)
                    if await wait_or_timeout(stop, 1.0):
                        return False
                    continue
                failures += 1
                log.warning("handler failed", error=repr(exc), attempt=failures, event_id=env.id)
                if failures >= self.max_attempts:
                    await self._dead_letter(record, exc, attempts=failures)
                    return True
                await asyncio.sleep(self.backoff * failures)

    async def _apply(self, env: Envelope) -> bool:
        async with self.db.begin() as conn:
            claimed = await fetch(
                conn, self._claim_sql, self.name, f"{env.source}|{env.stream_id}", env.stream_version, env.id
            )
            if not claimed:
                log.debug("duplicate skipped", event_id=env.id, consumer=self.name)
                return False
            with context.bound(context.caused_by(env.id, env.correlation_id)):
                await self.handler(conn, env)
        for hook in self.after_commit:
            hook()
        return True

    async def _dead_letter(self, record: ConsumerRecord, error: BaseException, attempts: int) -> None:
        headers = list(record.headers or ()) + [
            ("dlq_consumer", self.name.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_error", repr(error)[:2000].encode()),
        ]
        await self.producer.send_and_wait(
            dead_letter_topic(self.name), value=record.value, key=record.key, headers=headers
        )
        CONSUMER_DEAD_LETTERED.labels(self.name, record.topic).inc()
        log.error("event dead-lettered", topic=record.topic, offset=record.offset, error=repr(error))

    async def _report_lag(self) -> None:
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is None:
                continue
            position = await self.consumer.position(tp)
            CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(max(highwater - position, 0))


__all__ = ["ConsumerRunner", "Handler", "TopicPartition", "dead_letter_topic"]
