"""Consumer runner: at-least-once delivery, exactly-once effect.

For each record the handler's writes and the record of what was applied (`shared.applied`, one
row per event id) commit in one transaction; a redelivered event finds its row and is skipped, and
a whole fetched batch is checked for such events in one query first, so a republished history is
passed over quickly. Events apply in arrival order, each once, even when a later version of its
stream came first (see `shared.applied` for the rule on gaps). Offsets are committed to Kafka only
after the database commit, so a crash anywhere replays, never loses. A handler that keeps failing
gets bounded retries, then its record goes to the dead-letter topic and the partition moves on
(`servicetrail dlq retry` puts it back, addressed to this consumer alone: `REDRIVE_HEADER`). An
unreachable database is not the event's fault: it is waited out, not dead-lettered.
"""
from __future__ import annotations

import asyncio
import uuid
from typing import Awaitable, Callable, Iterable

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from opentelemetry.trace import SpanKind

from shared import context, tracing
from shared.aio import wait_or_timeout
from shared.applied import AppliedRecord
from shared.contracts import ContractViolation
from shared.db import Conn, Database, is_unavailable
from shared.envelope import Envelope, MalformedMessage, from_kafka
from shared.events import UnknownEventType
from shared.eventstore.store import ConcurrencyError
from shared.metrics import (
    CONSUMER_APPLIED,
    CONSUMER_DEAD_LETTERED,
    CONSUMER_GAPS,
    CONSUMER_LAG,
    CONSUMER_LATE,
    CONSUMER_SKIPPED,
    CONSUMER_UNKNOWN,
)

log = structlog.get_logger(__name__)

Handler = Callable[[Conn, Envelope], Awaitable[None]]
Decoder = Callable[[Envelope], Envelope]


def dead_letter_topic(consumer: str) -> str:
    return f"{consumer}.dlq"


# What a dead letter carries besides the record's own headers; and the header a redriven record
# (`servicetrail dlq retry`) carries naming the one consumer it is for: every other passes it over.
DLQ_HEADERS = frozenset({"dlq_consumer", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_attempts", "dlq_error"})
REDRIVE_HEADER = "dlq_redrive_for"


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
        ensure_topic: Callable[[str], Awaitable[None]] | None = None,
        decode: Decoder | None = None,
        service: str = "",
    ) -> None:
        """`decode`: types each record into its published contract (`shared.contracts.decoded`)
        before anything is applied; a record of an unknown type is then skipped and counted, one
        that does not fit its type is dead-lettered at once."""
        self.name, self.consumer, self.producer, self.db = name, consumer, producer, db
        self.handler, self.max_attempts, self.backoff = handler, max_attempts, backoff_seconds
        self.after_commit = list(after_commit)
        self.ensure_topic, self.decode, self.service = ensure_topic, decode, service
        self.applied = AppliedRecord(schema)

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
        # Applied ones are recognised from their headers alone, without decoding the event: after
        # a republish almost every record is one, and decoding was most of a skip's cost.
        # A small batch is steady-state traffic: the claim in each record's transaction is enough,
        # and the look-up would only add a round trip to its latency.
        marks = [_identity(record) for record in records] if len(records) >= PREFILTER_FROM else [None] * len(records)
        known = await self._known([m for m in marks if m is not None], stop)
        if known is None:
            return None  # stopping while the database is away
        finished = None
        for record, mark in zip(records, marks, strict=True):
            if _redriven_for_another(record, self.name):
                CONSUMER_SKIPPED.labels(self.name, record.topic).inc()
            elif mark is not None and mark[0] in known:
                self._skipped(record, mark[0])
            elif isinstance(env := _parse(record, self.decode), (MalformedMessage, ContractViolation)):
                if not await self._unfit(record, env, looked_up=mark is not None, stop=stop):
                    break
            elif isinstance(env, UnknownEventType):
                CONSUMER_UNKNOWN.labels(self.name, record.topic).inc()
                log.info("unknown event type skipped", type=str(env), consumer=self.name, topic=record.topic)
            elif not await self._process(record, env, stop):
                break  # stopping mid-way: the rest is redelivered to whoever comes next
            finished = record.offset + 1
        return finished

    async def _unfit(self, record: ConsumerRecord, error: Exception, looked_up: bool, stop: asyncio.Event) -> bool:
        """Pass over or dead-letter a record that cannot be decoded; False if stopping left it as it was."""
        # A small batch is not looked up first: an event applied long ago and redelivered in a form a
        # later contract refuses took effect already, and is passed over, not dead-lettered. Rare, so
        # a round trip of its own.
        mark = None if looked_up else _identity(record)
        if mark is not None:
            applied = await self._known([mark], stop)
            if applied is None:
                return False
            if mark[0] in applied:
                self._skipped(record, mark[0])
                return True
        await self._dead_letter(record, error, attempts=1)  # it can never apply as it is
        return True

    async def _known(self, marks: list[tuple[str, str, int]], stop: asyncio.Event) -> set[str] | None:
        """The batch's events this consumer already applied; None if told to stop meanwhile."""
        while marks:
            try:
                async with self.db.connect() as conn:
                    return await self.applied.known(conn, self.name, marks)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                log.warning("database unavailable; waiting", error=repr(exc), consumer=self.name)
                if await wait_or_timeout(stop, 1.0):
                    return None
        return set()

    def _skipped(self, record: ConsumerRecord, event_id: str) -> None:
        log.debug("duplicate skipped", event_id=event_id, consumer=self.name)
        CONSUMER_SKIPPED.labels(self.name, record.topic).inc()

    async def _process(self, record: ConsumerRecord, env: Envelope, stop: asyncio.Event) -> bool:
        """Apply or dead-letter one record; False only when stopping left it unfinished."""
        failures = 0
        while True:
            try:
                if await self._apply(record, env):
                    CONSUMER_APPLIED.labels(self.name, record.topic).inc()
                else:
                    self._skipped(record, env.id)
                return True
            except Exception as exc:
                if is_unavailable(exc):  # not the event's fault: no attempt is counted
                    log.warning("database unavailable; waiting", error=repr(exc), consumer=self.name)
                    if await wait_or_timeout(stop, 1.0):
                        return False
                    continue
                if isinstance(exc, ConcurrencyError):
                    # Another partition's event changed the same aggregate meanwhile (a request's
                    # facts arrive on two topics): not this event's fault, so try again at once.
                    log.info("aggregate changed meanwhile; applying again", event_id=env.id, consumer=self.name)
                    continue
                failures += 1
                log.warning("handler failed", error=repr(exc), attempt=failures, event_id=env.id)
                if failures >= self.max_attempts:
                    await self._dead_letter(record, exc, attempts=failures)
                    return True
                await asyncio.sleep(self.backoff * failures)

    async def _apply(self, record: ConsumerRecord, env: Envelope) -> bool:
        stream = _stream(env)
        async with self.db.begin() as conn:
            claim = await self.applied.claim(conn, self.name, stream, env.stream_version, env.id)
            if not claim.claimed:
                return False
            with context.bound(context.caused_by(env.id, env.correlation_id)), \
                    tracing.span(f"apply {env.name}", self.service, SpanKind.CONSUMER, env.traceparent,
                                 **{"messaging.consumer.group.name": self.name}):
                await self.handler(conn, env)
        if env.stream_version > claim.seen + 1:
            CONSUMER_GAPS.labels(self.name, record.topic).inc()
            log.warning("stream version gap: applied ahead of missing versions", consumer=self.name,
                        stream=stream, version=env.stream_version, missing_from=claim.seen + 1)
        elif env.stream_version <= claim.seen:
            CONSUMER_LATE.labels(self.name, record.topic).inc()
            log.info("late event applied", consumer=self.name, stream=stream, version=env.stream_version,
                     highest_applied=claim.seen)
        for hook in self.after_commit:
            hook()
        return True

    async def _dead_letter(self, record: ConsumerRecord, error: BaseException, attempts: int) -> None:
        # A redriven record that fails again is dead-lettered as it first was, under fresh reasons.
        headers = [(k, v) for k, v in record.headers or () if k not in DLQ_HEADERS and k != REDRIVE_HEADER] + [
            ("dlq_consumer", self.name.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_error", repr(error)[:2000].encode()),
        ]
        topic = dead_letter_topic(self.name)
        if self.ensure_topic is not None and self.producer.client.cluster.partitions_for_topic(topic) is None:
            # No client here auto-creates topics (that would take the broker's default partitions),
            # and a broker restart may have lost this one: create it as configured. Dead letters are rare.
            await self.ensure_topic(topic)
        await self.producer.send_and_wait(topic, value=record.value, key=record.key, headers=headers)
        CONSUMER_DEAD_LETTERED.labels(self.name, record.topic).inc()
        log.error("event dead-lettered", topic=record.topic, offset=record.offset, error=repr(error))

    async def _report_lag(self) -> None:
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is None:
                continue
            position = await self.consumer.position(tp)
            CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(max(highwater - position, 0))


PREFILTER_FROM = 16  # records in a fetched partition batch before applied ones are looked up at once
_IDENTITY = ("ce_id", "ce_source", "ce_streamid", "ce_streamversion")


def _identity(record: ConsumerRecord) -> tuple[str, str, int] | None:
    """(event id, stream, version) read from the record's CloudEvents headers; None if unusable."""
    headers = {k: v for k, v in record.headers or () if k in _IDENTITY}
    try:
        version = int(headers["ce_streamversion"])
        if not 0 < version < 2**31:
            return None
        return (str(uuid.UUID(headers["ce_id"].decode())),
                f"{headers['ce_source'].decode()}|{headers['ce_streamid'].decode()}", version)
    except (KeyError, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def _redriven_for_another(record: ConsumerRecord, consumer: str) -> bool:
    return any(k == REDRIVE_HEADER and v != consumer.encode() for k, v in record.headers or ())


def _parse(record: ConsumerRecord, decode: Decoder | None) -> Envelope | MalformedMessage | ContractViolation \
        | UnknownEventType:
    try:
        env = from_kafka(record.headers, record.key, record.value)
        uuid.UUID(env.id)  # the applied record keys on it
        if not 0 < env.stream_version < 2**31:
            raise MalformedMessage(f"stream version out of range: {env.stream_version}")
        return decode(env) if decode is not None else env
    except (ContractViolation, UnknownEventType) as exc:
        return exc
    except ValueError as exc:  # MalformedMessage included
        return exc if isinstance(exc, MalformedMessage) else MalformedMessage(f"event id is not a UUID: {exc}")


def _stream(env: Envelope) -> str:
    """Streams are named per producing service: two services may use the same stream id."""
    return f"{env.source}|{env.stream_id}"


__all__ = ["DLQ_HEADERS", "REDRIVE_HEADER", "ConsumerRunner", "Handler", "TopicPartition", "dead_letter_topic"]
