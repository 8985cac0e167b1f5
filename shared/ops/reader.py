"""Reading topics as an outside observer: every record up to the ends seen when reading began, or
on and on (`follow`). Nothing is committed, no group is joined."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from typing import AsyncIterator, Callable, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.kafka import make_consumer
from shared.settings import Settings

# Where to begin in a partition, given its first and end offsets.
Start = Callable[[int, int], int]


def from_beginning(first: int, end: int) -> int:
    return first


def last(n: int) -> Start:
    """The partition's last `n` records."""
    return lambda first, end: max(first, end - n)


@dataclass(frozen=True)
class PartitionOffsets:
    topic: str
    partition: int
    first: int
    end: int  # the high watermark: the offset the next record will take


class TopicReader:
    """An async context holding one unattached consumer on the configured broker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> "TopicReader":
        consumer = make_consumer(self.settings, None, request_timeout_ms=10_000)
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()  # what it opened before failing
            raise
        self._consumer = consumer
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._consumer is not None:
            try:
                # A reader has nothing to commit or flush. Stopping one whose partitions were all
                # empty took a minute on tansu (a fetch left waiting there): bounded instead.
                await asyncio.wait_for(self._consumer.stop(), 2)
            except asyncio.TimeoutError:
                pass

    @property
    def consumer(self) -> AIOKafkaConsumer:
        assert self._consumer is not None, "use TopicReader as `async with`"
        return self._consumer

    async def topics(self) -> list[str]:
        """Every topic of the broker but its internal ones, by name."""
        return sorted(t for t in await self.consumer.topics() if not t.startswith("__"))

    async def offsets(self, topics: Iterable[str]) -> list[PartitionOffsets]:
        """First and end offset of every partition of `topics` (a topic that does not exist has none)."""
        await self.consumer.topics()  # the partitions of every topic, as the broker has them now
        tps = [TopicPartition(t, p) for t in topics for p in sorted(self.consumer.partitions_for_topic(t) or ())]
        if not tps:
            return []
        firsts = await self.consumer.beginning_offsets(tps)
        ends = await self._high_watermarks(tps)
        return [PartitionOffsets(tp.topic, tp.partition, firsts[tp], ends[tp]) for tp in tps]

    async def _high_watermarks(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        # A fetch's high watermark, not ListOffsets' answer alone: a broker may answer that with the
        # start of its last batch (tansu does), short of records already there. A fetch from that
        # offset returns at most the last batch, and the true high watermark with it.
        listed = await self.consumer.end_offsets(tps)
        self.consumer.assign(tps)
        for tp in tps:
            self.consumer.seek(tp, listed[tp])
        for _ in range(50):
            if all(self.consumer.highwater(tp) is not None for tp in tps):
                break
            await self.consumer.getmany(timeout_ms=100)
        return {tp: max(listed[tp], self.consumer.highwater(tp) or 0) for tp in tps}

    async def read(self, topics: Iterable[str], start: Start = from_beginning,
                   follow: bool = False) -> AsyncIterator[ConsumerRecord]:
        """The records of `topics` from `start` in each partition, partition by partition in order
        within each; up to the ends of when reading began, or forever with `follow`."""
        offsets = await self.offsets(topics)
        if not offsets:
            return
        tps = {TopicPartition(o.topic, o.partition): o for o in offsets}
        self.consumer.assign(list(tps))
        for tp, o in tps.items():
            self.consumer.seek(tp, start(o.first, o.end))
        pending = {tp for tp, o in tps.items() if await self.consumer.position(tp) < o.end}
        while follow or pending:
            batches = await self.consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                for record in records:
                    if follow or record.offset < tps[tp].end:
                        yield record
                if not follow and await self.consumer.position(tp) >= tps[tp].end:
                    pending.discard(tp)
            if not batches:
                await asyncio.sleep(0)
