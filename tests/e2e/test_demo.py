"""`servicetrail demo`: a short simulated week through the public APIs of a stack it starts itself,
on a database of its own and the suite's broker; what it reports is checked against the stores."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from typing import Any, AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.db import plain_url
from shared.demo.week import roster
from tests.conftest import ROOT, Broker

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


DAYS, MINUTES = 2, 0.75  # simulated days, played in real minutes
SPEED = DAYS * 24 * 60 / MINUTES  # simulated time per real time


@pytest.fixture(scope="module")
async def demo_database(postgres_server: str) -> AsyncIterator[str]:
    """The demo's stores on a database of their own: the other e2e tests' services use the same schemas."""
    name = f"st_demo_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(plain_url(postgres_server))
    await admin.execute(f"CREATE DATABASE {name}")
    yield make_url(plain_url(postgres_server)).set(database=name).render_as_string(hide_password=False)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.close()


@pytest.fixture(scope="module")
def played(demo_database: str, broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    env = {**os.environ, "DATABASE_URL": demo_database, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
           "KAFKA_IDEMPOTENCE": str(broker.idempotence).lower(), "TOPIC_PREFIX": f"demo-{run}-",
           "CONSUMER_GROUP_PREFIX": f"demo-{run}-", "RELAY_POLL_SECONDS": "0.05"}
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", "demo", "--days", str(DAYS), "--minutes", str(MINUTES), "--per-day", "30",
         "--seed", "11", "--free-ports", "--no-keep", "--json", "--var-dir", str(tmp_path_factory.mktemp("demo"))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "database": demo_database}


def test_the_week_is_played_without_a_refused_step_and_analytics_counts_all_of_it(played: dict[str, Any]) -> None:
    desk, summary = played["desk"], played["summary"]
    assert played["unexpected"] == [] and played["failed"] == []
    assert desk["submitted"] >= 20 and desk["resolved"] > 0 and desk["surveys"] > 0
    # what the desk was told was recorded, analytics reports: every request and every survey
    assert summary["complete"] and summary["requests"] == desk["submitted"]
    assert summary["surveys"] == desk["surveys"]
    assert 1 <= summary["csat"] <= 5 and -100 <= summary["nps"] <= 100
    assert 0 <= summary["response_compliance"] <= 1 and summary["bottleneck"] is not None
    assert played["dashboard"].split("#token=")[1].count(".") == 2  # a bearer token for the page


async def test_the_services_ran_on_the_simulated_clock_and_technicians_worked_their_shifts(played: dict[str, Any]) -> None:
    week_from, week_to = (datetime.fromisoformat(played["week"][k]) for k in ("from", "to"))
    conn = await asyncpg.connect(plain_url(played["database"]))
    try:
        received = await conn.fetch("SELECT time FROM intake.events WHERE type LIKE '%.RequestReceived.%'")
        started = await conn.fetch("SELECT data FROM dispatch.events WHERE type LIKE '%.WorkStarted.%'")
        surveys = await conn.fetchval("SELECT count(*) FROM feedback.events WHERE type LIKE '%.SurveyReturned.%'")
    finally:
        await conn.close()
    assert len(received) == played["desk"]["submitted"]
    # last week's simulated days, not today's: intake's clock was the demo's (standing still at the end)
    assert all(week_from <= r["time"] <= week_to for r in received)
    shifts = {t.id: t.calendar() for t in roster("UTC")}
    # On shift, give or take what 3 s of real time (an HTTP call on a busy machine) is at the demo's
    # speed: 30 simulated minutes, half a second, was once too little on a slow morning.
    late = timedelta(seconds=3) * SPEED
    assert started and all(
        shifts[d["resource_id"]].is_open(at) or shifts[d["resource_id"]].is_open(at - late)
        for d in (json.loads(row["data"]) for row in started) if (at := datetime.fromisoformat(d["started_at"])))
    assert surveys == played["desk"]["surveys"]


REBUILDABLE = {("intake", "requests"): ("requests",), ("dispatch", "tables"): ("jobs", "resources", "sla_timers"),
               ("feedback", "tables"): ("closures", "feedback_items", "actions")}


async def test_every_services_read_model_rebuilt_from_the_weeks_events_equals_the_live_one_and_repairs_it(
        played: dict[str, Any]) -> None:
    """The week's declines, pauses, reopenings and escalations, written live by the commands (dispatch,
    feedback) or a projection (intake), are written anew from the events with the same checksum; a
    corrupted row is put right."""
    url = played["database"]

    async def checksums(service: str, tables: tuple[str, ...]) -> list[str]:
        conn = await asyncpg.connect(plain_url(url))
        try:
            return [await conn.fetchval(f"SELECT md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM "
                                        f"(SELECT md5(t::text) AS h FROM {service}.{t} t) rows") for t in tables]
        finally:
            await conn.close()

    def rebuild(service: str, name: str) -> str:
        env = {**os.environ, "DATABASE_URL": url, "DEV_SECRETS": "true", "COLUMNS": "300"}
        done = subprocess.run([sys.executable, "-m", "shared.cli", "projections", "rebuild", service, name],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
        return done.stdout

    for (service, name), tables in REBUILDABLE.items():
        live = await checksums(service, tables)
        out = rebuild(service, name)
        assert "switched in" in out and "differed" not in out, out
        assert await checksums(service, tables) == live, service

    healthy = await checksums("dispatch", REBUILDABLE["dispatch", "tables"])
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("UPDATE dispatch.jobs SET status = 'gibberish' WHERE request_id = "
                           "(SELECT min(request_id) FROM dispatch.jobs)")
        await conn.execute("DELETE FROM dispatch.sla_timers WHERE request_id = (SELECT min(request_id) FROM dispatch.sla_timers)")
        await conn.execute("UPDATE dispatch.resources SET load = 0")
    finally:
        await conn.close()
    assert "the live read model differed" in rebuild("dispatch", "tables")
    assert await checksums("dispatch", REBUILDABLE["dispatch", "tables"]) == healthy
