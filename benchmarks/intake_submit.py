"""POST /v1/requests, durable (the events committed before the 201), next to two ceilings measured
in the same run: a bare FastAPI POST validating the same body, and raw asyncpg one-insert
transactions. 64 concurrent clients, alternating rounds; then latency at fixed arrival rates.
Intake runs both ways: one process doing everything, and an API process whose relay, projection
and consumers run in a separate `servicetrail work` process.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid

import asyncpg
import httpx
import orjson

from benchmarks.common import ROOT, summary, with_servers, write_result
from benchmarks.loadgen import build_requests, closed_loop, open_loop
from shared.auth import Role, TokenService
from shared.db import plain_url
from shared.runtime.embedded import free_port
from shared.settings import Settings

CLIENTS, SECONDS, ROUNDS, RATES = 64, 6.0, 2, (300, 1000)


def bodies(n: int = 2000) -> list[bytes]:
    return [orjson.dumps({
        "customer": {"id": f"bench-{i}", "name": "Bench Customer", "phone": "+44 20 7946 0000",
                     "email": "bench@example.com"},
        "channel": "phone", "kind": "fault", "category": "fault > equipment > printer",
        "title": f"Printer jams {uuid.uuid4().hex[:6]}", "description": "The printer jams on every page.",
        "urgency": "medium", "impact": "medium", "location": "Floor 2",
    }) for i in range(n)]


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    log = open(ROOT / "var" / f"bench-{port}.log", "ab")
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=log)
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


async def main() -> dict:
    return await with_servers(measure)


async def measure(url: str, bootstrap: str) -> dict:
    token = TokenService(Settings()).mint(Role.agent, "bench-agent")
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_IDEMPOTENCE": "false",
           "LOG_LEVEL": "WARNING"}
    bare_port, intake_port, api_port = free_port(), free_port(), free_port()
    processes = [start(["-m", "benchmarks.bare_app", str(bare_port)], env, bare_port),
                 start(["-m", "shared.cli", "serve", "intake", "--port", str(intake_port)], env, intake_port),
                 start(["-m", "shared.cli", "serve", "intake", "--port", str(api_port)],
                       {**env, "BACKGROUND_WORK": "false", "DB_SCHEMA": "intake_split"}, api_port),
                 background(["-m", "shared.cli", "work", "intake"], {**env, "DB_SCHEMA": "intake_split"})]
    try:
        payloads = bodies()
        bare_reqs = build_requests("bench", "/v1/requests", payloads, {})
        intake_reqs = build_requests("bench", "/v1/requests", payloads, {"Authorization": f"Bearer {token}"})
        await closed_loop("127.0.0.1", bare_port, bare_reqs, CLIENTS, 1.5, 201)  # warm-up
        await closed_loop("127.0.0.1", intake_port, intake_reqs, CLIENTS, 1.5, 201)
        await closed_loop("127.0.0.1", api_port, intake_reqs, CLIENTS, 1.5, 201)
        await raw_inserts(url, 1.0)
        bare, intake, split, raw = [], [], [], []
        for _ in range(ROUNDS):
            bare.append((await closed_loop("127.0.0.1", bare_port, bare_reqs, CLIENTS, SECONDS, 201)).report())
            intake.append((await closed_loop("127.0.0.1", intake_port, intake_reqs, CLIENTS, SECONDS, 201)).report())
            split.append((await closed_loop("127.0.0.1", api_port, intake_reqs, CLIENTS, SECONDS, 201)).report())
            raw.append(await raw_inserts(url, SECONDS))
        at_rate = {}
        for rate in RATES:
            await asyncio.sleep(2)  # let the relay and projection drain before each latency run
            outcome = await open_loop("127.0.0.1", api_port, intake_reqs, rate, SECONDS, 201)
            at_rate[f"{rate}_per_second"] = outcome.report()
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    intake_rps = [r["requests_per_second"] for r in intake]
    split_rps = [r["requests_per_second"] for r in split]
    bare_rps = [r["requests_per_second"] for r in bare]
    result = {
        "what": "POST /v1/requests durable, 64 concurrent clients; ceilings measured in the same run",
        "intake_submit_one_process": {"requests_per_second": summary(intake_rps), "runs": intake},
        "intake_submit_api_process_with_separate_worker": {"requests_per_second": summary(split_rps), "runs": split},
        "bare_fastapi_ceiling": {"requests_per_second": summary(bare_rps), "runs": bare},
        "raw_asyncpg_insert_ceiling": {"transactions_per_second": summary(raw)},
        "ratio_to_bare_fastapi": {
            "one_process": summary([i / b for i, b in zip(intake_rps, bare_rps, strict=True)], 2),
            "api_plus_worker": summary([i / b for i, b in zip(split_rps, bare_rps, strict=True)], 2),
        },
        "ratio_to_raw_insert": {
            "one_process": summary([i / r for i, r in zip(intake_rps, raw, strict=True)], 2),
            "api_plus_worker": summary([i / r for i, r in zip(split_rps, raw, strict=True)], 2),
        },
        "open_loop_latency_api_plus_worker": at_rate,
        "goals": "ratio_to_bare >= 0.6, ratio_to_raw_insert >= 1.0, p99 <= 50 ms at 1000 req/s",
    }
    write_result("intake_submit", result)
    return result


if __name__ == "__main__":
    print(orjson.dumps(asyncio.run(main()), option=orjson.OPT_INDENT_2).decode())
