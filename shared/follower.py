"""Background loops: a generic one, and one that follows a schema's global positions in batches."""
from __future__ import annotations

import abc
import asyncio

import structlog

from shared.aio import wait_or_timeout
from shared.checkpoint import Checkpoint
from shared.db import Conn, Database
from shared.envelope import Envelope
from shared.eventstore import EventStore

log = structlog.get_logger(__name__)


class Follower(abc.ABC):
    def __init__(self, batch_size: int, poll_seconds: float, linger_seconds: float) -> None:
        self.batch_size, self.poll_seconds, self.linger_seconds = batch_size, poll_seconds, linger_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was committed: look now rather than at the next poll."""
        self._wake.set()

    @abc.abstractmethod
    async def run_once(self) -> int:
        """Handle one batch; return how many events it held."""

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: keep trying, lose nothing
                log.warning("batch failed; retrying", follower=type(self).__name__, error=repr(exc))
                done = 0
                await wait_or_timeout(stop, 1.0)
            if done < self.batch_size:
                woken = await wait_or_timeout(self._wake, self.poll_seconds)
                self._wake.clear()
                if woken and self.linger_seconds:
                    # Let the commits arriving together go out as one batch, not one batch each.
                    await asyncio.sleep(self.linger_seconds)


class PositionFollower(Follower):
    """Follows a schema's global positions from a checkpoint, one batch per transaction.

    Subclasses say what a batch means (`handle`); sequencing, leadership, the checkpoint and the
    relaxed commit are the same for all of them.
    """

    def __init__(self, db: Database, store: EventStore, checkpoint: Checkpoint, *, batch_size: int,
                 poll_seconds: float, linger_seconds: float) -> None:
        super().__init__(batch_size, poll_seconds, linger_seconds)
        self.db, self.store, self.checkpoint = db, store, checkpoint

    @abc.abstractmethod
    async def handle(self, conn: Conn, events: list[Envelope]) -> None:
        """Do this follower's work for a batch, inside the transaction that moves the checkpoint."""

    async def run_once(self) -> int:
        async with self.db.begin() as conn:
            await self.store.assign_positions(conn)
        async with self.db.begin() as conn:
            if not await self.checkpoint.try_lead(conn):  # and commits relaxed
                return 0
            position = await self.checkpoint.read(conn)
            events = await self.store.read_all(conn, position, self.batch_size)
            if not events:
                return 0
            await self.handle(conn, events)
            await self.checkpoint.save(conn, events[-1].position or position)
        return len(events)
