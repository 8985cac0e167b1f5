"""Benchmark plumbing: a database to measure on, and the results file."""
from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import asyncpg
from sqlalchemy.engine import make_url

from shared.db import plain_url
from shared.http.ratelimit import rate_limits_out_of_the_way
from shared.runtime.embedded import EmbeddedBroker, EmbeddedPostgres

# One subject and one address send thousands of requests a second: limits raised, still checked.
rate_limits_out_of_the_way()

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A fresh database on DATABASE_URL's server, or on the embedded PostgreSQL `make run` uses."""
    server = None
    base = os.environ.get("DATABASE_URL")
    if not base:
        server = EmbeddedPostgres(ROOT / "var" / "bench-postgres")
        base = server.start()
    name = f"st_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(plain_url(base))
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield make_url(plain_url(base)).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
        if server:
            server.stop()


async def with_servers(measure: Callable[[str, str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run `measure(database_url, bootstrap)` on a scratch database and an embedded broker."""
    (ROOT / "var").mkdir(exist_ok=True)
    broker = EmbeddedBroker(log_path=ROOT / "var" / "bench-broker.log")
    broker.start()
    try:
        async with scratch_database() as url:
            return await measure(url, broker.bootstrap)
    finally:
        broker.stop()


def summary(values: list[float], digits: int = 1) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def write_result(name: str, result: dict[str, Any]) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[name] = {
        **result,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
