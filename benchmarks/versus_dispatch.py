"""Dispatch's allocation latency, this checkout against an older one, side by side in one run.

Both versions run at once, one dispatch process each, on one scratch database (a schema each) and
one broker (topics and consumer groups under a prefix each). Every triaged request goes to both,
one after the other at the same pace, and each version's ResourceAllocated is timed from outside
as in `benchmarks.dispatch_allocation`; so whatever else the machine does hurts both alike.

    git worktree add /tmp/old <ref>
    .venv/bin/python -m benchmarks.versus_dispatch /tmp/old
"""
from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from benchmarks.common import ROOT, summary, with_servers, write_result
from benchmarks.dispatch_allocation import RESOURCES, SECONDS, SKILLS, latencies_of, observe, triaged
from benchmarks.intake_submit import start
from benchmarks.versus import LINK_SECRET, SECRET
from shared.auth import Role, TokenService
from shared.envelope import to_kafka
from shared.kafka import ensure_topics
from shared.runtime.embedded import free_port
from shared.settings import Settings

RATE = int(os.environ.get("DISPATCH_BENCH_RATE", "60"))  # to each version: both must keep up
ROUNDS = int(os.environ.get("VERSUS_ROUNDS", "5"))
VERSIONS = ("this", "older")


async def register(port: int, token: str, specs: list[dict]) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        for spec in specs:
            response = await client.post("/v1/resources", json=spec)
            assert response.status_code == 201, response.text


async def offer(producer: AIOKafkaProducer, seen: dict[str, dict[str, float]], seconds: float) -> dict[str, dict]:
    """RATE requests a second to each version, the same envelope shape to both in turn."""
    sent: dict[str, dict[str, float]] = {name: {} for name in VERSIONS}
    started = time.perf_counter()
    for i in range(int(RATE * seconds)):
        delay = started + i / RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        skill = random.choice(SKILLS)
        for name in (VERSIONS if i % 2 == 0 else tuple(reversed(VERSIONS))):
            envelope = triaged(str(uuid.uuid4()), skill)
            key, headers, value = to_kafka(envelope)
            sent[name][envelope.subject] = time.perf_counter()
            await producer.send(f"{name}.intake.events", value, key=key, headers=headers)
    await producer.flush()
    deadline = time.monotonic() + 60
    while any(r not in seen[n] for n in VERSIONS for r in sent[n]) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return {name: latencies_of(sent[name], seen[name]) for name in VERSIONS}


async def measure(older: Path, url: str, bootstrap: str) -> dict:
    await ensure_topics(Settings(kafka_bootstrap_servers=bootstrap, topic_partitions=3),
                        [f"{n}.{t}.events" for n in VERSIONS for t in ("intake", "dispatch")])
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_IDEMPOTENCE": "false",
           "LOG_LEVEL": "WARNING", "CONSUMER_SESSION_TIMEOUT_MS": "3000", "JWT_SECRET": SECRET,
           "SURVEY_LINK_SECRET": LINK_SECRET}
    token = TokenService(Settings(jwt_secret=SECRET, survey_link_secret=LINK_SECRET)).mint(Role.dispatcher, "versus")
    roots = {"this": ROOT, "older": older}
    ports, processes = {name: free_port() for name in VERSIONS}, []
    for name in VERSIONS:
        own = {**env, "DB_SCHEMA": f"dispatch_versus_{name}", "TOPIC_PREFIX": f"{name}.",
               "CONSUMER_GROUP_PREFIX": f"{name}.", "PYTHONPATH": str(roots[name])}
        processes.append(start(["-m", "shared.cli", "serve", "dispatch", "--port", str(ports[name])], own,
                               ports[name], cwd=roots[name]))
    specs = [{"name": f"tech {i}", "capacity": 10 + 3 * ROUNDS, "zone": f"z{i % 8}",
              "skills": [{"name": s, "level": random.randint(1, 5)} for s in random.sample(SKILLS, 4)]}
             for i in range(RESOURCES)]
    seen: dict[str, dict[str, float]] = {name: {} for name in VERSIONS}
    stop = asyncio.Event()
    rounds: list[dict[str, dict]] = []
    try:
        for name in VERSIONS:
            await register(ports[name], token, specs)
        watchers = [asyncio.create_task(observe(bootstrap, seen[n], stop, f"{n}.dispatch.events")) for n in VERSIONS]
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
        await producer.start()
        await offer(producer, seen, 3)  # discarded: consumer groups joined, statements prepared
        for _ in range(ROUNDS):
            rounds.append(await offer(producer, seen, SECONDS))
            await asyncio.sleep(1)
        stop.set()
        await asyncio.gather(*watchers)
        await producer.stop()
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    p50 = {n: [r[n]["p50_ms"] for r in rounds] for n in VERSIONS}
    p99 = {n: [r[n]["p99_ms"] for r in rounds] for n in VERSIONS}
    result = {
        "what": "RequestTriaged -> ResourceAllocated observed outside, one dispatch per version side by side, "
                f"{RATE} requests/s to each, {RESOURCES} resources each",
        "older": f"{older} at {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=older, capture_output=True, text=True).stdout.strip()}",
        "p50_ms": {n: summary(p50[n]) for n in VERSIONS}, "p99_ms": {n: summary(p99[n]) for n in VERSIONS},
        "ratio_this_to_older_p50": round(statistics.median(p50["this"]) / statistics.median(p50["older"]), 3),
        "ratio_this_to_older_p99": round(statistics.median(p99["this"]) / statistics.median(p99["older"]), 3),
        "rounds": rounds,
    }
    write_result("dispatch_allocation_versus_older", result)
    return result


if __name__ == "__main__":
    older_root = Path(sys.argv[1]).resolve()
    outcome = asyncio.run(with_servers(lambda url, bootstrap: measure(older_root, url, bootstrap)))
    print(orjson.dumps(outcome, option=orjson.OPT_INDENT_2).decode())
