"""Reading what a service sealed, as a service that may would (tests only)."""
from __future__ import annotations

from typing import Any, Sequence

from shared.clock import SystemClock
from shared.envelope import Envelope
from shared.settings import ServiceSettings
from shared.shredding.keyring import key_ring


async def opened(settings: ServiceSettings, value: Any) -> Any:
    """`value` with every sealed field in it opened (`[erased]` where the key is gone)."""
    keys = key_ring(settings, SystemClock())
    try:
        return (await keys.open(value))[0]
    finally:
        await keys.close()


async def opened_envelopes(settings: ServiceSettings, envelopes: Sequence[Envelope]) -> list[Envelope]:
    keys = key_ring(settings, SystemClock())
    try:
        return await keys.open_envelopes(envelopes)
    finally:
        await keys.close()
