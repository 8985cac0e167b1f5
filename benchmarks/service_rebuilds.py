"""Every service's rebuildable read model built anew from the events of a simulated week, in events/s
against the ops issue's goal (100,000). The week is `servicetrail demo`'s, played through the public
APIs on a scratch database and broker: real streams with declines, pauses, reopenings and surveys,
which generated histories do not make as the services' own aggregates would.
`python -m benchmarks.service_rebuilds [per_day]`. Analytics' facts: benchmarks/analytics_rebuild.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks.common import ROOT, with_servers, write_result
from shared.db import fetch
from shared.http.serving import service_app
from shared.ops.rebuild_runs import RebuildRuns, read_models

GOAL = 100_000


def play_week(database_url: str, bootstrap: str, per_day: int) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "KAFKA_IDEMPOTENCE": "false", "DEV_SECRETS": "true"}
    with tempfile.TemporaryDirectory() as var:
        done = subprocess.run([sys.executable, "-m", "shared.cli", "demo", "--per-day", str(per_day), "--minutes", "5",
                               "--free-ports", "--no-keep", "--json", "--var-dir", var],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(f"the demo failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def measure(database_url: str, bootstrap: str, per_day: int) -> dict[str, Any]:
    week = play_week(database_url, bootstrap, per_day)
    result: dict[str, Any] = {"week": week["desk"], "goal_events_per_second": GOAL}
    for service in ("intake", "dispatch", "feedback"):
        runtime = service_app(service, database_url=database_url).state.runtime
        schema = runtime.settings.schema_name
        try:
            async with runtime.db.connect() as conn:
                stored = (await fetch(conn, f"SELECT count(*) FROM {schema}.events"))[0][0]
            runs = RebuildRuns(runtime.db, runtime.settings.ops_schema, runtime.clock)
            for name, (model, working) in read_models(runtime).items():
                done = (await runs.run(service, schema, runtime.store, model, working, "bench", "bench")).rebuilt
                result[f"{service}/{name}"] = {"events_in_store": stored, "events": done.events,
                                               "seconds": round(done.seconds, 2),
                                               "events_per_second": round(done.events_per_second),
                                               "checksum_equals_live": done.was == done.now}
        finally:
            await runtime.close_pools()
    return result


async def main(per_day: int = 120) -> dict[str, Any]:
    started = time.perf_counter()
    result = await with_servers(lambda url, bootstrap: measure(url, bootstrap, per_day))
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    write_result("service_rebuilds", result)
    return result


if __name__ == "__main__":
    import asyncio

    print(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 120)))
