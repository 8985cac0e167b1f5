"""Consumer lag as the broker sees it: per group and partition, the committed offset against the
high watermark. Groups are those the broker knows and the services' own (`SUBSCRIPTIONS`); a
group's topics are those it committed on and, for a service's group, every topic it reads: where
it has committed nothing yet, it is behind by every record still on the partition, since it will
begin at the first (`auto_offset_reset=earliest`)."""
from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition

from shared.contracts import SUBSCRIPTIONS
from shared.kafka import make_admin, make_consumer
from shared.ops.reader import TopicReader
from shared.settings import Settings


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group has committed nothing on this partition yet
    end: int
    first: int = 0  # the partition's first record still kept, where a group without a commit begins

    @property
    def lag(self) -> int:
        return max(self.end - (self.first if self.committed is None else self.committed), 0)


async def groups(settings: Settings) -> list[str]:
    admin = make_admin(settings)
    await admin.start()
    try:
        return sorted(g for g, _ in await admin.list_consumer_groups())
    finally:
        await admin.close()


def service_groups(settings: Settings) -> dict[str, set[str]]:
    """Each service's consumer group, as `settings` names them, and the topics it reads."""
    return {settings.consumer_group_prefix + service: {settings.topic_prefix + t for t in topics}
            for service, topics in SUBSCRIPTIONS.items()}


async def consumer_lag(settings: Settings, group: str | None = None) -> list[Lag]:
    """Every consumer group's lag (or `group`'s), on every partition it has committed on and, for a
    service's group, on every partition of the topics it reads."""
    reads = service_groups(settings)
    names = [group] if group else sorted(set(await groups(settings)) | set(reads))
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
                if committed is not None or o.topic in reads.get(name, ()):
                    rows.append(Lag(name, o.topic, o.partition, committed, o.end, o.first))
        finally:
            await asking.stop()
    return rows
