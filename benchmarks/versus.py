"""Intake's durable submit, this checkout against an older one, side by side in one run.

"A change for safety keeps the existing figures within 10 %" cannot be shown by two runs minutes
apart on a shared two-core machine: the bare FastAPI ceiling alone swings threefold between them.
Here both versions run at once, one process each, on one scratch database (a schema each) and one
broker, and their closed-loop rounds alternate, so a noisy moment hurts both alike.

    git worktree add /tmp/old <ref>
    .venv/bin/python -m benchmarks.versus /tmp/old

The older checkout runs on this checkout's virtualenv (its dependencies must be a subset).
"""
from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
from pathlib import Path

import orjson

from benchmarks.common import ROOT, summary, with_servers, write_result
from benchmarks.intake_submit import CLIENTS, SECONDS, backlog, bodies, start
from benchmarks.loadgen import build_requests, closed_loop
from shared.auth import Role, TokenService
from shared.runtime.embedded import free_port
from shared.settings import Settings

ROUNDS = int(os.environ.get("VERSUS_ROUNDS", "8"))
# Both versions must accept the same token: older ones had a built-in development secret.
SECRET, LINK_SECRET = "versus-" + "j" * 40, "versus-" + "s" * 40


def serve(root: Path, schema: str, env: dict[str, str]) -> tuple[int, object]:
    port = free_port()
    own = {**env, "DB_SCHEMA": schema, "PYTHONPATH": str(root)}
    process = start(["-m", "shared.cli", "serve", "intake", "--port", str(port)], own, port, cwd=root)
    return port, process


async def alternate(url: str, ports: dict[str, int], requests: list[bytes], rounds: int) -> dict[str, list[dict]]:
    """Closed-loop rounds against each intake in `ports` (by name; schema `intake_versus_<name>`),
    taking turns, each followed by its relay and projection catching up."""
    runs: dict[str, list[dict]] = {name: [] for name in ports}
    for port in ports.values():
        await closed_loop("127.0.0.1", port, requests, CLIENTS, 2.0, 201)  # warm-up
    for name in ports:
        await backlog(url, f"intake_versus_{name}")
    for round_ in range(rounds):
        # Alternate who goes first: the second of a pair meets the first one's autovacuum.
        order = list(ports) if round_ % 2 == 0 else list(reversed(ports))
        for name in order:
            run = (await closed_loop("127.0.0.1", ports[name], requests, CLIENTS, SECONDS, 201)).report()
            # Each waits for its relay and projection, so neither runs against the other's backlog.
            runs[name].append({**run, **await backlog(url, f"intake_versus_{name}")})
    return runs


def compared(runs: dict[str, list[dict]], this: str, other: str) -> dict:
    """Both sides' figures, and `this` against `other`: per round (paired), and of the medians."""
    rps = {name: [r["requests_per_second"] for r in rounds] for name, rounds in runs.items()}
    ratios = [new / old for new, old in zip(rps[this], rps[other], strict=True)]
    return {
        "requests_per_second": {name: summary(values) for name, values in rps.items()},
        "p99_ms": {name: summary([r["p99_ms"] for r in rounds], 2) for name, rounds in runs.items()},
        f"ratio_{this}_to_{other}": summary(ratios, 3),
        "ratio_of_medians": round(statistics.median(rps[this]) / statistics.median(rps[other]), 3),
        "runs": runs,
    }


def environment(url: str, bootstrap: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_IDEMPOTENCE": "false",
            "LOG_LEVEL": "WARNING", "JWT_SECRET": SECRET, "SURVEY_LINK_SECRET": LINK_SECRET}


def submits() -> list[bytes]:
    token = TokenService(Settings(jwt_secret=SECRET, survey_link_secret=LINK_SECRET)).mint(Role.agent, "versus")
    return build_requests("bench", "/v1/requests", bodies(), {"Authorization": f"Bearer {token}"})


async def measure(older: Path, url: str, bootstrap: str) -> dict:
    env = environment(url, bootstrap)
    ports, processes = {}, []
    for name, root in (("this", ROOT), ("older", older)):
        ports[name], process = serve(root, f"intake_versus_{name}", env)
        processes.append(process)
    try:
        runs = await alternate(url, ports, submits(), ROUNDS)
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    older_ref = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=older, capture_output=True, text=True)
    result = {
        "what": "POST /v1/requests durable, one intake process per version, 64 clients, rounds alternating",
        "older": f"{older} at {older_ref.stdout.strip()}",
        **compared(runs, "this", "older"),
    }
    write_result("intake_submit_versus_older", result)
    return result


if __name__ == "__main__":
    older_root = Path(sys.argv[1]).resolve()
    outcome = asyncio.run(with_servers(lambda url, bootstrap: measure(older_root, url, bootstrap)))
    print(orjson.dumps(outcome, option=orjson.OPT_INDENT_2).decode())
