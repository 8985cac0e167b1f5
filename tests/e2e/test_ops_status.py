"""`servicetrail status` against the four service processes, their database and broker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from importlib.metadata import version

import pytest

from shared.auth import Role
from shared.runtime.embedded import free_port
from tests.conftest import ROOT
from tests.e2e.conftest import Stack
from tests.e2e.test_thin_journey import REQUEST

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]


def status(stack: Stack, **urls: str) -> tuple[int, list[dict], str]:
    env = {**os.environ, "DATABASE_URL": stack.database_url, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
           "KAFKA_IDEMPOTENCE": "false", "TOPIC_PREFIX": stack.topic_prefix, "CONSUMER_GROUP_PREFIX": stack.topic_prefix,
           "OPS_SCHEMA": f"ops_{uuid.uuid4().hex[:8]}", "COLUMNS": "250",
           **{f"{name.upper()}_URL": url for name, url in stack.urls.items()},
           **{f"{name.upper()}_URL": url for name, url in urls.items()}}
    done = subprocess.run([sys.executable, "-m", "shared.cli", "status", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=90)
    assert "Traceback" not in done.stderr, done.stderr

    return done.returncode, json.loads(done.stdout or "[]"), done.stderr


def test_status_shows_every_service_ready_with_its_relay_and_projections_caught_up(stack: Stack) -> None:
    with stack.client("intake", Role.agent) as agent:
        submitted = agent.post("/v1/requests", json={**REQUEST, "customer": {**REQUEST["customer"], "id": "st-1"}})
    assert submitted.status_code == 201
    deadline = time.monotonic() + 60
    while True:
        code, rows, _ = status(stack)
        by = {r["service"]: r for r in rows}
        intake = by["intake"]
        caught_up = (intake["store_head"] or 0) >= 2 and intake["relay_behind"] == 0 \
            and intake["projections"].get("projection:requests") == intake["store_head"] \
            and (by["dispatch"]["store_head"] or 0) >= 1 and by["dispatch"]["lag"] == 0
        if caught_up or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert caught_up, rows
    assert code == 0 and list(by) == ["intake", "dispatch", "feedback", "analytics"]
    assert {(r["health"], r["ready"], r["version"]) for r in rows} == {("ok", "ready", version("servicetrail"))}
    assert by["analytics"]["relay"] is None and by["analytics"]["projections"]  # it publishes nothing
    assert all(r["dead_letters"] == 0 for r in rows)


def test_status_names_what_is_not_ready_and_exits_non_zero(stack: Stack) -> None:
    code, rows, _ = status(stack, intake=f"http://127.0.0.1:{free_port()}")
    intake = next(r for r in rows if r["service"] == "intake")
    assert code == 1 and intake["ready"] == "unreachable" and "ConnectError" in intake["reasons"]["http"]
    assert intake["store_head"] is not None  # its store is still read
