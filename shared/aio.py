"""Small asyncio helpers for background loops."""
from __future__ import annotations

import asyncio


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds`; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
        return True
    except asyncio.TimeoutError:
        return False
