"""A full restart with history in the stores: how long until every consumer has caught up again.

The embedded broker keeps nothing, so a restart publishes every stored event again and each
consumer must pass over what it already applied. The history is written straight into the event
stores (spread over the three topics as a real desk's is: 40 % intake, 40 % dispatch, 20 %
feedback) and recorded as applied by every consumer of its topic, exactly the state a stopped
stack leaves behind. Then the four services start on a fresh broker and we measure: time to ready,
time until every consumer has skipped the whole history, and how long one request submitted right
after ready, and one submitted after the catch-up, take to show in analytics' timeline.
"""
from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from typing import Any

import httpx

from benchmarks.common import ROOT, scratch_database, write_result
from shared.auth import Role, TokenService
from shared.db import Database, fetch
from shared.migrations import migrate
from shared.runtime.embedded import free_port
from shared.runtime.launcher import LocalStack
from shared.settings import Settings

SERVICES = ("intake", "dispatch", "feedback", "analytics")
SHARE = {"intake": 0.4, "dispatch": 0.4, "feedback": 0.2}
CONSUMERS = {"intake": ("dispatch", "feedback", "analytics"), "dispatch": ("intake", "feedback", "analytics"),
             "feedback": ("intake", "analytics")}  # who consumes each service's topic (see each bootstrap)
SIZES = tuple(int(n) for n in os.environ.get("RESTART_BENCH_SIZES", "10000,100000").split(","))
# One event type per store that every consumer of its topic decodes by its contract, as a real
# store's history is: the catch-up then passes over what a real one would.
HISTORY = {
    "intake": ("RequestUpdated", "jsonb_build_object('request_id', 'h' || (g / 5), 'updated_by', 'bench', "
                                 "'reason', 'customer called again', 'updated_at', now(), 'changes', "
                                 "jsonb_build_object('urgency', jsonb_build_object('before', 'low', 'after', 'high')))"),
    "dispatch": ("WorkNoteAdded", "jsonb_build_object('request_id', 'h' || (g / 5), 'author', 'tech-1', "
                                  "'note', 'the printer on floor 3 jams on every page', 'added_at', now())"),
    "feedback": ("FollowUpScheduled", "jsonb_build_object('request_id', 'h' || (g / 5), 'reason', 'a call back', "
                                      "'due_at', now() + interval '2 days', 'scheduled_at', now())"),
}


async def write_history(url: str, total: int) -> dict[str, int]:
    """`total` events in the three stores, 5 per stream, applied by every consumer of their topic."""
    db = Database(url, pool_size=4)
    counts = {s: int(total * share) for s, share in SHARE.items()}
    try:
        for service in SERVICES:
            await migrate(db.engine, ROOT / "services" / service / "adapters" / "migrations", service)
        async with db.begin() as conn:
            for service, n in counts.items():
                name, data = HISTORY[service]
                await fetch(conn, f"""
                    INSERT INTO {service}.events (event_id, stream_id, stream_version, type, subject, time,
                                                  correlation_id, data)
                    SELECT gen_random_uuid(), 'request-h' || (g / 5), g % 5 + 1,
                           'servicetrail.{service}.{name}.v1', 'h' || (g / 5), now(), 'bench', {data}
                    FROM generate_series(0, $1 - 1) AS g ORDER BY g""", n)
                await fetch(conn, f"INSERT INTO {service}.event_positions (position, id) "
                                  f"SELECT row_number() OVER (ORDER BY id), id FROM {service}.events")
                await fetch(conn, f"DELETE FROM {service}.unpositioned")
                for consumer in CONSUMERS[service]:
                    await fetch(conn, f"""
                        INSERT INTO {consumer}.applied_events (consumer, event_id, stream, version)
                        SELECT $1, event_id, '/servicetrail/{service}|' || stream_id, stream_version
                        FROM {service}.events""", consumer)
        async with db.connect() as conn:
            await conn.execute("VACUUM ANALYZE")
    finally:
        await db.dispose()
    return counts


def skipped(metrics: str) -> dict[tuple[str, str], float]:
    found = re.findall(r'servicetrail_consumer_duplicates_total\{consumer="([^"]+)",topic="([^"]+)"\} (\S+)', metrics)
    return {(c, t): float(v) for c, t, v in found}


def caught_up(urls: dict[str, str], counts: dict[str, int]) -> bool:
    seen: dict[tuple[str, str], float] = {}
    for service in SERVICES:
        seen |= skipped(httpx.get(f"{urls[service]}/metrics", timeout=5).text)
    return all(seen.get((c, f"{s}.events"), 0) >= n for s, n in counts.items() for c in CONSUMERS[s])


def visible_after(urls: dict[str, str], tokens: TokenService, timeout: float = 300) -> float:
    """Submit one request; seconds until analytics' timeline shows it."""
    agent = {"Authorization": f"Bearer {tokens.mint(Role.agent, 'bench')}"}
    analyst = {"Authorization": f"Bearer {tokens.mint(Role.analyst, 'bench')}"}
    body = {"customer": {"id": f"c-{uuid.uuid4().hex[:6]}", "name": "Bench"}, "channel": "phone", "kind": "fault",
            "title": "Restart probe", "description": "after restart", "urgency": "low", "impact": "low"}
    # One kept-alive connection: a new one per look cost this process 40 % of a core, taken from
    # the services it measures on this two-core machine.
    with httpx.Client(timeout=30) as client:
        started = time.monotonic()
        answer = client.post(f"{urls['intake']}/v1/requests", json=body, headers=agent)
        answer.raise_for_status()
        path = f"{urls['analytics']}/v1/requests/{answer.json()['id']}/timeline"
        while time.monotonic() - started < timeout:
            if client.get(path, headers=analyst).status_code == 200:
                return time.monotonic() - started
            time.sleep(0.02)
    raise TimeoutError("the request never reached analytics")


async def measure(total: int) -> dict[str, Any]:
    async with scratch_database() as url:
        counts = await write_history(url, total)
        stack = LocalStack(ROOT / "var" / f"bench-restart-{uuid.uuid4().hex[:6]}", free_port())
        stack.env["DATABASE_URL"] = url  # the stack's services use this database
        tokens = TokenService(Settings())
        started = time.monotonic()
        with stack:
            stack.start_services({s: free_port() for s in SERVICES})
            ready = time.monotonic() - started
            first = visible_after(stack.urls(), tokens)
            while not caught_up(stack.urls(), counts):
                if time.monotonic() - started > 900:
                    raise TimeoutError("consumers did not catch up in 15 minutes")
                time.sleep(0.1)
            done = time.monotonic() - started - ready
            later = visible_after(stack.urls(), tokens)
        return {"events": sum(counts.values()), "ready_s": round(ready, 2), "caught_up_after_ready_s": round(done, 2),
                "visible_in_analytics_s": {"submitted_at_ready": round(first, 2), "after_catch_up": round(later, 3)}}


async def run() -> dict[str, Any]:
    result = {"goal": "caught up <= 15 s after ready with 100,000 events; new request in analytics <= 1 s",
              "runs": [await measure(n) for n in SIZES]}
    write_result("restart", result)
    return result


def main() -> Any:
    return run()


if __name__ == "__main__":
    print(asyncio.run(run()))
