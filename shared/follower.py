"""Background loops: a generic one, and one that follows a schema's global positions in batches.

A loop that keeps failing says so: after `stall_seconds` (on the runtime's clock) without a
successful round it logs a warning with the last error, sets `servicetrail_follower_stalled` and
makes the service's /readyz degraded, until a round succeeds again.
"""
from __future__ import annotations

import abc
import asyncio
from datetime import datetime, timedelta

import structlog

from shared.aio import wait_or_timeout
from shared.checkpoint import Checkpoint
from shared.clock import Clock, SystemClock
from shared.db import Conn, Database
from shared.envelope import Envelope
from shared.eventstore import EventStore
from shared.metrics import FOLLOWER_BEHIND, FOLLOWER_STALLED

log = structlog.get_logger(__name__)


class Follower(abc.ABC):
    def __init__(self, batch_size: int, poll_seconds: float, linger_seconds: float) -> None:
        self.batch_size, self.poll_seconds, self.linger_seconds = batch_size, poll_seconds, linger_seconds
        self._wake = asyncio.Event()
        # Private names: subclasses keep their own `clock` and `schema` attributes.
        self._stall_clock: Clock = SystemClock()
        self.metric_schema, self.stall_seconds = "", 10.0
        self.failures, self.last_error = 0, ""  # consecutive failed rounds, and the latest one's error
        self._failing_since: datetime | None = None
        self._reported = False

    @property
    def name(self) -> str:
        """What readiness, logs and metrics call this loop."""
        return type(self).__name__

    def track_stalls(self, clock: Clock, stall_seconds: float, schema: str) -> None:
        """Judge stalls on `clock` after `stall_seconds`; label them with `schema`."""
        self._stall_clock, self.stall_seconds, self.metric_schema = clock, stall_seconds, schema
        FOLLOWER_STALLED.labels(schema, self.name).set(0)

    def stalled(self) -> str | None:
        """The last error, once every round has failed for `stall_seconds`; None otherwise."""
        if self._failing_since is None:
            return None
        if self._stall_clock.now() - self._failing_since < timedelta(seconds=self.stall_seconds):
            return None
        return self.last_error

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
                self._failed(exc)
                log.warning("batch failed; retrying", follower=self.name, error=repr(exc))
                done = 0
                await wait_or_timeout(stop, 1.0)
            else:
                self._succeeded()
            if done < self.batch_size:
                woken = await wait_or_timeout(self._wake, self.poll_seconds)
                self._wake.clear()
                if woken and self.linger_seconds:
                    # Let the commits arriving together go out as one batch, not one batch each.
                    await asyncio.sleep(self.linger_seconds)

    def _failed(self, exc: Exception) -> None:
        self.failures, self.last_error = self.failures + 1, repr(exc)
        if self._failing_since is None:
            self._failing_since = self._stall_clock.now()
        if not self._reported and (reason := self.stalled()) is not None:
            self._reported = True
            FOLLOWER_STALLED.labels(self.metric_schema, self.name).set(1)
            log.warning("follower stalled: no progress", follower=self.name, schema=self.metric_schema,
                        failures=self.failures, since=self._failing_since.isoformat(), error=reason)

    def _succeeded(self) -> None:
        if self._reported:
            FOLLOWER_STALLED.labels(self.metric_schema, self.name).set(0)
            log.info("follower recovered", follower=self.name, schema=self.metric_schema, failures=self.failures)
        self.failures, self._failing_since, self._reported = 0, None, False


class PositionFollower(Follower):
    """Follows a schema's global positions from a checkpoint, one batch per transaction.

    Subclasses say what a batch means (`handle`); sequencing, leadership, the checkpoint and the
    relaxed commit are the same for all of them. Leadership is held under the store's lease.
    """

    def __init__(self, db: Database, store: EventStore, checkpoint: Checkpoint, *, batch_size: int,
                 poll_seconds: float, linger_seconds: float) -> None:
        super().__init__(batch_size, poll_seconds, linger_seconds)
        self.db, self.store, self.checkpoint = db, store, checkpoint

    @property
    def name(self) -> str:
        return self.checkpoint.name

    @abc.abstractmethod
    async def handle(self, conn: Conn, events: list[Envelope]) -> None:
        """Do this follower's work for a batch, inside the transaction that moves the checkpoint.
        Work outside PostgreSQL must end within `self.store.lease.work_seconds`."""

    async def run_once(self) -> int:
        async with self.db.connect() as conn:  # the sequencer is a transaction of its own
            await self.store.assign_positions(conn)
        async with self.db.begin() as conn:
            if not await self.checkpoint.try_lead(conn, self.store.lease):  # and commits relaxed
                return 0
            position = await self.checkpoint.read(conn)
            events = await self.store.read_all(conn, position, self.batch_size)
            if events:
                await self.handle(conn, events)
                position = events[-1].position or position
                await self.checkpoint.save(conn, position)
            # A short batch was everything numbered so far; only a full one asks how much is left.
            behind = await self.store.head(conn) - position if len(events) == self.batch_size else 0
        FOLLOWER_BEHIND.labels(self.metric_schema, self.name).set(behind)
        return len(events)
