"""Optimistic concurrency: a command that lost the race to a stream runs again on the new state."""
from __future__ import annotations

import asyncio
import random
from typing import Awaitable, Callable, TypeVar

from shared.eventstore import ConcurrencyError

T = TypeVar("T")
ATTEMPTS = 10


async def on_conflict(attempt: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    """Run `attempt` (load, decide, append at the loaded version) until it does not lose a race.

    The racers are de-synchronised by a growing random pause; after `attempts` losses the last
    ConcurrencyError goes to the caller (HTTP 409). `attempt` must be safe to run again: its
    effects are all in the append that failed.
    """
    for n in range(1, attempts + 1):
        try:
            return await attempt()
        except ConcurrencyError:
            if n == attempts:
                raise
            await pause_after_loss(n)
    raise AssertionError("unreachable")


async def pause_after_loss(n: int) -> None:
    """The random pause after the `n`th lost race, growing with `n` (de-synchronises racers)."""
    await asyncio.sleep(random.uniform(0, 0.002 * n))
