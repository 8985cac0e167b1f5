"""Consumer lag as the broker sees it: per group and partition, the committed offset against the
high watermark. Groups are those the broker knows; a group's topics are those it committed on."""
from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition

from shared.kafka import make_admin, make_consumer
from shared.ops.reader import TopicReader
from shared.settings import Settings


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)


async def groups(settings: Settings) -> list[str]:
    admin = make_admin(settings)
    await admin.start()
    try:
        return sorted(g for g, _ in await admin.list_consumer_groups())
    finally:
        await admin.close()


async def consumer_lag(settings: Settings, group: str | None = None) -> list[Lag]:
    """Every consumer group's lag (or `group`'s), on every partition it has committed on."""
    names = [group] if group else await groups(settings)
    async with TopicReader(settings) as reader:
        offsets = await reader.offsets(await reader.topics())
    rows: list[Lag] = []
    for name in names:
        # A member of no generation: it only asks the group's coordinator for committed offsets.
        asking = make_consumer(settings, name, request_timeout_ms=10_000)
        await asking.start()
        try:
            for o in offsets:
                committed = await asking.committed(TopicPartition(o.topic, o.partition))
                if committed is not None:
                    rows.append(Lag(name, o.topic, o.partition, committed, o.end))
        finally:
            await asking.stop()
    return rows
