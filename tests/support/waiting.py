"""Waiting for something that happens asynchronously, without fixed sleeps."""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not reached in {timeout}s")
