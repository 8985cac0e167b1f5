"""Dead letters: each consumer's `<consumer>.dlq` topic read as a list, and what an operator did
with each (retried, discarded) recorded in PostgreSQL, `<OPS_SCHEMA>.dead_letters`.

A retry puts the record back on the topic it came from, addressed to the consumer that gave up on
it (`REDRIVE_HEADER`): every other consumer of that topic passes it over, so a retry never applies
anything twice nor dead-letters anything again elsewhere. The consumer applies it once, by its
event id, even though later events of its stream were applied meanwhile (`shared.applied`); had it
applied it already, it skips it. The record is sent before the retry is recorded: a crash between
the two leaves it pending, and retrying again only delivers it once more, which is skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from aiokafka import ConsumerRecord

from shared.clock import Clock, SystemClock
from shared.consumer import DLQ_HEADERS, REDRIVE_HEADER, dead_letter_topic
from shared.db import Database, execute, fetch, ident
from shared.envelope import Envelope, MalformedMessage, from_kafka
from shared.errors import InvalidTransition, NotFound
from shared.kafka import make_producer
from shared.ops.reader import TopicReader
from shared.settings import Settings

_SUFFIX = dead_letter_topic("")


@dataclass(frozen=True)
class DeadLetter:
    """One record a consumer gave up on, where it came from and why; `status` is pending, retried
    or discarded (with `handled_at`, `handled_by`, `reason` once handled)."""

    consumer: str
    partition: int  # in the dead-letter topic
    offset: int
    at: datetime
    topic: str  # where the record came from
    origin_partition: int
    origin_offset: int
    attempts: int
    error: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(repr=False)
    status: str = "pending"
    handled_at: datetime | None = None
    handled_by: str | None = None
    reason: str | None = None

    @property
    def id(self) -> str:
        return f"{self.consumer}:{self.partition}:{self.offset}"

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if k not in DLQ_HEADERS]

    def envelope(self) -> Envelope | MalformedMessage:
        """The event as its consumer received it, or why it is no event of ours."""
        try:
            return from_kafka(self.original_headers, self.key, self.value)
        except MalformedMessage as exc:
            return exc

    @classmethod
    def of(cls, record: ConsumerRecord) -> "DeadLetter":
        h = {k: v.decode(errors="replace") for k, v in record.headers or ()}
        return cls(
            consumer=h.get("dlq_consumer") or record.topic[: -len(_SUFFIX)], partition=record.partition,
            offset=record.offset, at=datetime.fromtimestamp(record.timestamp / 1000, timezone.utc),
            topic=h.get("dlq_topic", "?"), origin_partition=_int(h.get("dlq_partition")),
            origin_offset=_int(h.get("dlq_offset")), attempts=_int(h.get("dlq_attempts")),
            error=h.get("dlq_error", ""), key=record.key, value=record.value, headers=list(record.headers or ()),
        )


def parse_id(text: str) -> tuple[str, int, int]:
    """`<consumer>:<partition>:<offset>`, as `dlq list` shows it; NotFound if it is not one."""
    consumer, _, rest = text.rpartition(":")
    consumer, _, partition = consumer.rpartition(":")
    if not consumer or not partition.isdigit() or not rest.isdigit():
        raise NotFound(f"no dead letter {text!r}: an id reads <consumer>:<partition>:<offset>")
    return consumer, int(partition), int(rest)


class DeadLetters:
    """Every consumer's dead letters on the configured broker, and what was done with them."""

    def __init__(self, settings: Settings, db: Database, clock: Clock | None = None) -> None:
        self.settings, self.db, self.clock = settings, db, clock or SystemClock()
        self.table = f"{ident(settings.ops_schema)}.dead_letters"

    async def prepare(self) -> None:
        async with self.db.begin() as conn:
            await execute(conn, f"CREATE SCHEMA IF NOT EXISTS {ident(self.settings.ops_schema)}")
            await execute(conn, f"""CREATE TABLE IF NOT EXISTS {self.table} (
                consumer text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL,
                status text NOT NULL CHECK (status IN ('retried', 'discarded')),
                at timestamptz NOT NULL, by text NOT NULL, reason text,
                PRIMARY KEY (consumer, partition, "offset"))""")

    async def list(self, consumer: str | None = None, handled: bool = False) -> list[DeadLetter]:
        """Dead letters, oldest first per consumer; only pending ones unless `handled`."""
        async with TopicReader(self.settings) as reader:
            topics = [t for t in await reader.topics() if t.endswith(_SUFFIX)]
            if consumer is not None:
                topics = [t for t in topics if t == dead_letter_topic(consumer)]
            letters = [DeadLetter.of(r) async for r in reader.read(topics)]
        outcomes = await self._outcomes()
        letters = [replace(d, **outcomes[d.id]) if d.id in outcomes else d for d in letters]
        letters.sort(key=lambda d: (d.consumer, d.at, d.partition, d.offset))
        return letters if handled else [d for d in letters if d.status == "pending"]

    async def get(self, id_: str) -> DeadLetter:
        consumer, partition, offset = parse_id(id_)
        found = [d for d in await self.list(consumer, handled=True) if (d.partition, d.offset) == (partition, offset)]
        if not found:
            raise NotFound(f"no dead letter {id_!r}")
        return found[0]

    async def retry(self, letter: DeadLetter, by: str) -> bool:
        """Redrive `letter` to its consumer: True if sent now, False if it had been already.
        InvalidTransition if it was discarded or can never apply as it is (no event of ours)."""
        if letter.status == "retried":
            return False
        if letter.status == "discarded":
            raise InvalidTransition(f"{letter.id} was discarded by {letter.handled_by}: there is nothing to retry")
        if isinstance(problem := letter.envelope(), MalformedMessage):
            raise InvalidTransition(f"{letter.id} can never apply as it is ({problem}): discard it")
        producer = make_producer(self.settings, "servicetrail-dlq")
        await producer.start()
        try:
            await producer.send_and_wait(letter.topic, value=letter.value, key=letter.key,
                                         headers=[*letter.original_headers, (REDRIVE_HEADER, letter.consumer.encode())])
        finally:
            await producer.stop()
        await self._record(letter, "retried", by, None)
        return True

    async def discard(self, letter: DeadLetter, by: str, reason: str) -> bool:
        """Mark `letter` as dealt with, never to be applied: True if now, False if it was already.
        InvalidTransition if it was retried."""
        if letter.status == "discarded":
            return False
        if letter.status == "retried":
            raise InvalidTransition(f"{letter.id} was retried by {letter.handled_by}: it cannot be discarded")
        await self._record(letter, "discarded", by, reason)
        return True

    async def _record(self, letter: DeadLetter, status: str, by: str, reason: str | None) -> None:
        async with self.db.begin() as conn:
            await execute(conn, f'INSERT INTO {self.table} (consumer, partition, "offset", status, at, by, reason) '
                                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                          letter.consumer, letter.partition, letter.offset, status, self.clock.now(), by, reason)

    async def _outcomes(self) -> dict[str, dict[str, Any]]:
        async with self.db.connect() as conn:
            if (await fetch(conn, "SELECT to_regclass($1)", self.table))[0][0] is None:
                return {}  # nothing was ever retried or discarded here
            rows = await fetch(conn, f'SELECT consumer, partition, "offset", status, at, by, reason FROM {self.table}')
        return {f"{r[0]}:{r[1]}:{r[2]}": {"status": r[3], "handled_at": r[4], "handled_by": r[5], "reason": r[6]}
                for r in rows}


def _int(text: str | None) -> int:
    return int(text) if text and text.lstrip("-").isdigit() else -1
