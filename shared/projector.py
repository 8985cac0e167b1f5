"""Projects a service's own events into its read models, exactly once.

Follows the event store by global position (so a late commit is never skipped); each batch's
read-model writes and the checkpoint commit in one transaction, so a crash replays, never doubles.
"""
from __future__ import annotations

from typing import Protocol

from shared.checkpoint import Checkpoint
from shared.db import Conn, Database, relaxed_commit
from shared.envelope import Envelope
from shared.eventstore import EventStore
from shared.follower import Follower


class Projection(Protocol):
    name: str

    async def apply(self, conn: Conn, env: Envelope) -> None:
        """Fold one event into the read model, on the batch's transaction."""


class ProjectionRunner(Follower):
    def __init__(
        self, db: Database, store: EventStore, projection: Projection,
        *, batch_size: int = 500, poll_seconds: float = 0.25, linger_seconds: float = 0.0,
    ) -> None:
        super().__init__(batch_size, poll_seconds, linger_seconds)
        self.db, self.store, self.projection = db, store, projection
        self.checkpoint = Checkpoint(store.schema, f"projection:{projection.name}")

    async def run_once(self) -> int:
        async with self.db.begin() as conn:
            await self.store.assign_positions(conn)
        async with self.db.begin() as conn:
            if not await self.checkpoint.try_lead(conn):
                return 0
            await relaxed_commit(conn)
            position = await self.checkpoint.read(conn)
            events = await self.store.read_all(conn, position, self.batch_size)
            for env in events:
                await self.projection.apply(conn, env)
            if events:
                await self.checkpoint.save(conn, events[-1].position or position)
        return len(events)
