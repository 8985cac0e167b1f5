"""Every service's rebuildable read model built anew from the events of a simulated week, in events/s
against the ops issue's goal (100,000). The week is `servicetrail demo`'s, played through the public
APIs on a scratch database and broker: real streams with declines, pauses, reopenings and surveys,
which generated histories do not make as the services' own aggregates would.
Then each service's store is scaled up (`COPIES` more copies of the week, every id made new: see
`scaled`) and each read model rebuilt twice more: a history large enough that a rebuild's fixed
costs (the shadow table, its indexes, the switch) no longer weigh; the second rebuild's checksum
must equal the first's (the live tables, built by the commands, hold only the week). Beside them,
the same run reads every event of the scaled store and does nothing else (`read_ceiling`): a cost
every rebuild here pays, so a ceiling for them on this machine at this hour, and each rebuild's
share of it (`to_read_ceiling`).
`python -m benchmarks.service_rebuilds [per_day [copies]]`. Analytics' facts: benchmarks/analytics_rebuild.py.
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
from shared import collector
from shared.db import execute, fetch
from shared.eventstore.store import EVENT_COLUMNS, queued
from shared.http.serving import service_app
from shared.ops.rebuild import BATCH
from shared.ops.rebuild_runs import RebuildRuns, read_models

GOAL = 100_000
COPIES = 20
# Every id in a copy is made new: each UUID's version group becomes "c" and the copy's number (no
# UUID generated has version 12, so a copy's id is never an original's), and a demo technician's
# name (`tech-3`, also in their stream's id) takes the number as a suffix. Customers stay who they
# are (their tokens name them, and their keys open them).
_UUID = "([0-9a-f]{8}-[0-9a-f]{4}-)[0-9a-f]{4}(-[0-9a-f]{4}-[0-9a-f]{12})"
_TECH = "(tech-[0-9]+)"


def _renamed(column: str) -> str:
    return (f"regexp_replace(regexp_replace({column}, '{_UUID}', '\\1c' || lpad(to_hex(k), 3, '0') || '\\2', "
            f"'g'), '{_TECH}\\y', '\\1c' || k, 'g')")


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


async def measure(database_url: str, bootstrap: str, per_day: int, copies: int) -> dict[str, Any]:
    week = play_week(database_url, bootstrap, per_day)
    result: dict[str, Any] = {"week": week["desk"], "goal_events_per_second": GOAL, "copies": copies}
    for service in ("intake", "dispatch", "feedback"):
        runtime = service_app(service, database_url=database_url).state.runtime
        schema = runtime.settings.schema_name
        runs = RebuildRuns(runtime.db, runtime.settings.ops_schema, runtime.clock)

        async def rebuilt(model: Any, working: Any, stored: int) -> dict[str, Any]:
            done = (await runs.run(service, schema, runtime.store, model, working, "bench", "bench")).rebuilt
            return {"events_in_store": stored, "events": done.events, "seconds": round(done.seconds, 2),
                    "events_per_second": round(done.events_per_second), "checksum_equals_live": done.was == done.now}
        try:
            stored = await events_in(runtime, schema)
            for name, (model, working) in read_models(runtime).items():
                result[f"{service}/{name}"] = await rebuilt(model, working, stored)
            if copies:
                stored = await scaled(runtime, schema, copies)
                ceiling = await read_ceiling(runtime)
                result[f"{service} read x{copies + 1}"] = ceiling
                for name, (model, working) in read_models(runtime).items():
                    await rebuilt(model, working, stored)  # takes in the copies
                    done = result[f"{service}/{name} x{copies + 1}"] = await rebuilt(model, working, stored)
                    done["to_read_ceiling"] = round(done["events_per_second"] / ceiling["events_per_second"], 2)
        finally:
            await runtime.close_pools()
    return result


async def read_ceiling(runtime: Any) -> dict[str, Any]:
    """Every event of the store read back as a rebuild reads it (batches of its size, the collector
    relaxed) and nothing done with them: a rebuild's ceiling in the same run, on the same machine."""
    started, events, position = time.perf_counter(), 0, 0
    with collector.relaxed():
        async with runtime.db.connect() as conn:
            while batch := await runtime.store.read_all(conn, position, BATCH):
                events, position = events + len(batch), batch[-1].position
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": round(seconds, 2), "events_per_second": round(events / seconds)}


async def events_in(runtime: Any, schema: str) -> int:
    async with runtime.db.connect() as conn:
        return int((await fetch(conn, f"SELECT count(*) FROM {schema}.events"))[0][0])


async def scaled(runtime: Any, schema: str, copies: int) -> int:
    """Appends `copies` copies of every event in the store, each with its ids made new, in order,
    and numbers them as appends are numbered; returns the events in the store."""
    renamed = {"event_id": f"{_renamed('e.event_id::text')}::uuid", "stream_id": _renamed("e.stream_id"),
               "subject": _renamed("e.subject"), "correlation_id": _renamed("e.correlation_id"),
               "causation_id": _renamed("e.causation_id"), "data": f"{_renamed('e.data::text')}::jsonb"}
    async with runtime.db.connect() as conn:
        await execute(conn, queued(schema, f"INSERT INTO {schema}.events ({', '.join(EVENT_COLUMNS)}) "
                                           f"SELECT {', '.join(renamed.get(c, f'e.{c}') for c in EVENT_COLUMNS)} "
                                           f"FROM generate_series(1, {int(copies)}) AS k, {schema}.events e "
                                           "ORDER BY k, e.id"))
        # About a million events just queued: without fresh statistics of the queue, the sequencer's
        # batches ran past its lease's statement timeout on a slow morning; with them, they did not.
        await execute(conn, f"ANALYZE {schema}.unpositioned")
        while await runtime.store.assign_positions(conn):
            pass
    return await events_in(runtime, schema)


async def main(per_day: int = 120, copies: int = COPIES) -> dict[str, Any]:
    started = time.perf_counter()
    result = await with_servers(lambda url, bootstrap: measure(url, bootstrap, per_day, copies))
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    write_result("service_rebuilds", result)
    return result


if __name__ == "__main__":
    import asyncio

    arguments = [int(a) for a in sys.argv[1:3]]
    print(asyncio.run(main(*arguments)))
