"""POST /v1/requests, durable (the events committed before the 201), next to two ceilings measured
in the same run: a bare FastAPI POST validating the same body, and raw asyncpg one-insert
transactions. 64 concurrent clients, alternating rounds; then latency at fixed arrival rates.

Intake runs three ways (DEPLOYMENTS): one process doing everything; an API process with its relay,
projection and consumers in a `servicetrail work` process; and two API workers with that worker.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import orjson

from benchmarks.common import ROOT, summary, with_servers, write_result
from benchmarks.loadgen import build_requests, closed_loop, open_loop
from shared.auth import Role, TokenService
from shared.db import plain_url
from shared.runtime.embedded import free_port
from shared.settings import Settings

CLIENTS, SECONDS, ROUNDS, RATES, LATENCY_SECONDS = 64, 6.0, 2, (300, 1000), 10.0


def bodies(n: int = 2000) -> list[bytes]:
    return [orjson.dumps({
        "customer": {"id": f"bench-{i}", "name": "Bench Customer", "phone": "+44 20 7946 0000",
                     "email": "bench@example.com"},
        "channel": "phone", "kind": "fault", "category": "fault > equipment > printer",
        "title": f"Printer jams {uuid.uuid4().hex[:6]}", "description": "The printer jams on every page.",
        "urgency": "medium", "impact": "medium", "location": "Floor 2",
    }) for i in range(n)]


def start(args: list[str], env: dict[str, str], port: int, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    log = open(ROOT / "var" / f"bench-{port}.log", "ab")
    process = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{args} did not start")


def background(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = open(ROOT / "var" / "bench-worker.log", "ab")
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=log)


async def raw_inserts(url: str, seconds: float) -> float:
    pool = await asyncpg.create_pool(plain_url(url), min_size=CLIENTS, max_size=CLIENTS)
    await pool.execute("CREATE TABLE IF NOT EXISTS raw_requests (id uuid PRIMARY KEY, stream text, "
                       "version int, body jsonb, at timestamptz DEFAULT now(), UNIQUE (stream, version))")
    payload, count, deadline = bodies(1)[0].decode(), 0, time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                async with conn.transaction():
                    await conn.execute("INSERT INTO raw_requests (id, stream, version, body) VALUES ($1, $2, 1, $3)",
                                       uuid.uuid4(), str(uuid.uuid4()), payload)
                count += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    rate = count / (time.perf_counter() - started)
    await pool.close()
    return rate


@dataclass(frozen=True)
class Deployment:
    """One way of running intake: API processes (`workers`), with the background work in them or
    in a `servicetrail work` process of its own."""

    name: str
    workers: int
    separate_worker: bool
    port: int = field(default_factory=free_port)

    @property
    def schema(self) -> str:
        return f"intake_{self.name}"

    def start(self, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
        own = {**env, "DB_SCHEMA": self.schema}
        api = {**own, "BACKGROUND_WORK": "false"} if self.separate_worker else own
        processes = [start(["-m", "shared.cli", "serve", "intake", "--port", str(self.port),
                            "--workers", str(self.workers)], api, self.port)]
        if self.separate_worker:
            processes.append(background(["-m", "shared.cli", "work", "intake"], own))
        return processes


DEPLOYMENTS = (Deployment("one_process", 1, False), Deployment("api_and_worker", 1, True),
               Deployment("two_api_workers_and_worker", 2, True))


async def backlog(url: str, schema: str) -> dict[str, float]:
    """Events committed but not yet published or projected when a run ends, and how long until
    they are: a deployment whose followers fall behind is not sustaining its request rate."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        head = await conn.fetchval(f"SELECT count(*) FROM {schema}.events")
        behind = head - await conn.fetchval(f"SELECT coalesce(min(position), 0) FROM {schema}.checkpoints")
        started = time.perf_counter()
        while await conn.fetchval(f"SELECT coalesce(min(position), 0) FROM {schema}.checkpoints") < head:
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"{schema}: relay or projection still behind after 120 s")
            await asyncio.sleep(0.05)
        return {"events_behind_at_end": behind, "caught_up_after_s": round(time.perf_counter() - started, 2)}
    finally:
        await conn.close()


async def latencies(url: str, requests: list[bytes]) -> dict[str, dict[str, dict[str, float]]]:
    """Open loop at each rate against each deployment, followers caught up before each run."""
    at_rate: dict[str, dict[str, dict[str, float]]] = {}
    for deployment in DEPLOYMENTS:
        for rate in RATES:
            await backlog(url, deployment.schema)
            await asyncio.sleep(1)
            outcome = await open_loop("127.0.0.1", deployment.port, requests, rate, LATENCY_SECONDS, 201)
            at_rate.setdefault(deployment.name, {})[f"{rate}_per_second"] = outcome.report()
    return at_rate


async def main() -> dict:
    return await with_servers(measure)


async def measure(url: str, bootstrap: str) -> dict:
    token = TokenService(Settings()).mint(Role.agent, "bench-agent")
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_IDEMPOTENCE": "false",
           "LOG_LEVEL": "WARNING"}
    bare_port = free_port()
    processes = [start(["-m", "benchmarks.bare_app", str(bare_port)], env, bare_port)]
    for deployment in DEPLOYMENTS:
        processes += deployment.start(env)
    try:
        payloads = bodies()
        bare_reqs = build_requests("bench", "/v1/requests", payloads, {})
        intake_reqs = build_requests("bench", "/v1/requests", payloads, {"Authorization": f"Bearer {token}"})
        await closed_loop("127.0.0.1", bare_port, bare_reqs, CLIENTS, 1.5, 201)  # warm-up
        for deployment in DEPLOYMENTS:
            await closed_loop("127.0.0.1", deployment.port, intake_reqs, CLIENTS, 1.5, 201)
            await backlog(url, deployment.schema)
        fresh = await latencies(url, intake_reqs)
        await raw_inserts(url, 1.0)
        bare, raw, runs = [], [], {d.name: [] for d in DEPLOYMENTS}
        for _ in range(ROUNDS):
            bare.append((await closed_loop("127.0.0.1", bare_port, bare_reqs, CLIENTS, SECONDS, 201)).report())
            for deployment in DEPLOYMENTS:
                run = (await closed_loop("127.0.0.1", deployment.port, intake_reqs, CLIENTS, SECONDS, 201)).report()
                runs[deployment.name].append({**run, **await backlog(url, deployment.schema)})
            raw.append(await raw_inserts(url, SECONDS))
        after_saturation = await latencies(url, intake_reqs)
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    bare_rps = [r["requests_per_second"] for r in bare]
    rps = {name: [r["requests_per_second"] for r in rounds] for name, rounds in runs.items()}
    result = {
        "what": "POST /v1/requests durable, 64 concurrent clients; ceilings measured in the same run, "
                "rounds alternating; each intake run ends with how far its relay and projection were behind",
        "intake_submit": {name: {"requests_per_second": summary(rps[name]), "runs": runs[name]} for name in runs},
        "bare_fastapi_ceiling": {"requests_per_second": summary(bare_rps), "runs": bare},
        "raw_asyncpg_insert_ceiling": {"transactions_per_second": summary(raw)},
        "ratio_to_bare_fastapi": {name: summary([i / b for i, b in zip(r, bare_rps, strict=True)], 2)
                                  for name, r in rps.items()},
        "ratio_to_raw_insert": {name: summary([i / w for i, w in zip(r, raw, strict=True)], 2)
                                for name, r in rps.items()},
        "open_loop_latency": {
            "steady": fresh,
            "right_after_the_saturation_rounds": after_saturation,
            "note": "after the rounds each schema holds ~10^5 new events whose position updates left "
                    "dead rows; autovacuum works them off meanwhile, on the same two cores",
        },
        "goals": "ratio_to_bare >= 0.6, ratio_to_raw_insert >= 1.0, p99 <= 50 ms at 1000 req/s",
    }
    write_result("intake_submit", result)
    return result


if __name__ == "__main__":
    print(orjson.dumps(asyncio.run(main()), option=orjson.OPT_INDENT_2).decode())
