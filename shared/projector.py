"""Projects a service's own events into its read models, exactly once.

Follows the event store by global position (so a late commit is never skipped); each batch's
read-model writes and the checkpoint commit in one transaction, so a crash replays, never doubles.
"""
from __future__ import annotations

import asyncio
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.aio import wait_or_timeout
from shared.checkpoint import Checkpoint
from shared.envelope import Envelope
from shared.eventstore import EventStore

log = structlog.get_logger(__name__)


class Projection(Protocol):
    name: str

    async def apply(self, conn: AsyncConnection, env: Envelope) -> None:
        """Fold one event into the read model, on the batch's transaction."""


class ProjectionRunner:
    def __init__(
        self, engine: AsyncEngine, store: EventStore, projection: Projection,
        *, batch_size: int = 500, poll_seconds: float = 0.25,
    ) -> None:
        self.engine, self.store, self.projection = engine, store, projection
        self.batch_size, self.poll_seconds = batch_size, poll_seconds
        self.checkpoint = Checkpoint(store.schema, f"projection:{projection.name}")
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        async with self.engine.begin() as conn:
            await self.store.assign_positions(conn)
        async with self.engine.begin() as conn:
            if not await self.checkpoint.try_lead(conn):
                return 0
            position = await self.checkpoint.read(conn)
            events = await self.store.read_all(conn, position, self.batch_size)
            for env in events:
                await self.projection.apply(conn, env)
            if events:
                await self.checkpoint.save(conn, events[-1].position or position)
        return len(events)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("projection batch failed; retrying", error=repr(exc), projection=self.projection.name)
                done = 0
                await wait_or_timeout(stop, 1.0)
            if done < self.batch_size:
                await wait_or_timeout(self._wake, self.poll_seconds)
                self._wake.clear()

    async def catch_up(self) -> None:
        """Apply everything committed so far (tests, rebuilds)."""
        while await self.run_once() == self.batch_size:
            pass
