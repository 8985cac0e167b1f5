"""Intake as `servicetrail serve intake` runs it, except that personal data is left in plain text:
the peer `benchmarks.privacy_cost` measures what encryption costs the submit against.

This exists only here. ServiceTrail itself has no way to turn encryption off: its key ring is
made in `ServiceRuntime`, which this module alone swaps for the one below.

    python -m benchmarks.plaintext_intake PORT
"""
from __future__ import annotations

import sys
from typing import Any, Iterable, Sequence

from shared import service
from shared.clock import Clock
from shared.settings import ServiceSettings
from shared.shredding.keyring import KeyRing, key_ring


class PlaintextKeyRing(KeyRing):
    """Seals nothing and so looks no key up; everything else (the access log, erasure's bookkeeping)
    as `KeyRing` does it. With nothing sealed there is nothing to open: `open` finds no token."""

    async def seal(self, data: Sequence[dict[str, Any]], paths: Sequence[Sequence[str]],
                   customer_id: str | None) -> list[dict[str, Any]]:
        return list(data)

    async def seal_answer(self, body: Any, customer_ids: Iterable[str]) -> Any:
        return body

    async def open_own(self, customer_id: str, values: Sequence[Any]) -> list[Any]:
        return list(values)

    def prefetch(self, customer_id: str) -> None:
        pass


def plaintext_ring(settings: ServiceSettings, clock: Clock) -> KeyRing:
    ring = key_ring(settings, clock)
    return PlaintextKeyRing(ring.store, ring.db, clock, settings.service, settings.keystore_schema)


if __name__ == "__main__":
    from shared.http import serving

    service.key_ring = plaintext_ring  # type: ignore[assignment]
    serving.serve("intake", "127.0.0.1", int(sys.argv[1]), 1)
