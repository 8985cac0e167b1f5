"""A background loop that follows a schema's global positions in batches (relay, projections)."""
from __future__ import annotations

import abc
import asyncio

import structlog

from shared.aio import wait_or_timeout

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

    async def catch_up(self) -> None:
        """Handle everything committed so far (tests, rebuilds)."""
        while await self.run_once() == self.batch_size:
            pass
