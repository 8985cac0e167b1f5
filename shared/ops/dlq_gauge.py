"""How many dead letters each of a service's consumers has left pending (neither retried nor
discarded with `servicetrail dlq`), as the gauge `servicetrail_dead_letters_pending{consumer}`."""
from __future__ import annotations

from shared.db import Database
from shared.follower import Follower
from shared.metrics import DEAD_LETTERS_PENDING
from shared.ops.dlq import DeadLetters
from shared.settings import Settings


class DeadLetterGauge(Follower):
    """Reads the consumers' dead-letter topics every `poll_seconds`, with the outcomes recorded in
    `<OPS_SCHEMA>.dead_letters`. A dead-letter topic is read whole each time: cheap while it is small,
    as it should be (the gauge is there so that someone makes it so)."""

    def __init__(self, settings: Settings, db: Database, consumers: list[str], poll_seconds: float) -> None:
        super().__init__(batch_size=1, poll_seconds=poll_seconds, linger_seconds=0)
        self.letters, self.consumers = DeadLetters(settings, db), consumers

    async def run_once(self) -> int:
        for consumer in self.consumers:
            DEAD_LETTERS_PENDING.labels(consumer).set(len(await self.letters.list(consumer)))
        return 0  # nothing to catch up on: wait a full poll
