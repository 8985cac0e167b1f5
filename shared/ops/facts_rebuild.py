"""`servicetrail projections rebuild analytics facts`: analytics' facts are versioned (blue-green,
services/analytics/service_layer/read_models.py), and the running service builds a version asked
for and puts it live once caught up. This asks for one and follows it with a progress bar, as
`POST /v1/read-models/rebuild` does over HTTP, then compares its checksum with the one it replaced."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from shared.ops.terminal import fail, rebuild_bar

STALL_SECONDS = 30.0  # no progress this long: the service is not building it


async def rebuild_facts(read_models: Any, by: str) -> tuple[int, dict[str, Any], dict[str, Any] | None]:
    """The new version's number, its checksum entry, and the replaced version's (None once dropped).
    The new version goes on folding once live, the replaced one stopped where it was retired: their
    checksums are comparable only at the same position."""
    before = next((v for v in await read_models.progress() if v["status"] == "live"), None)
    version = await read_models.request_rebuild(by)
    moved_at, last = time.monotonic(), -1
    with rebuild_bar() as bar:
        task = bar.add_task(f"analytics/facts v{version}", total=None, rate=0.0)
        while True:
            mine = next(v for v in await read_models.progress() if v["version"] == version)
            position = mine["position"] or 0
            bar.update(task, completed=position, total=max(mine["head"], position),
                       rate=mine["events_per_second"] or 0.0)
            if mine["status"] == "live":
                break
            if mine["status"] != "building":
                raise fail(f"analytics gave up version {version}: it is {mine['status']}", 1)
            if position != last:
                moved_at, last = time.monotonic(), position
            elif time.monotonic() - moved_at > STALL_SECONDS:
                raise fail(f"version {version} has not moved for {STALL_SECONDS:.0f} s: analytics builds it "
                           f"in its own process; is it running?", 2)
            await asyncio.sleep(0.25)
    now = await read_models.checksum(version)
    was = await read_models.checksum(before["version"]) if before else None
    return version, now, was
