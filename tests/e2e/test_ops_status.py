"""`servicetrail status` against the four service processes, their database and broker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from importlib.metadata import version

import httpx
import pytest

from shared.auth import Role
from shared.runtime.embedded import free_port
from tests.conftest import ROOT
from tests.e2e.conftest import Stack
from tests.e2e.test_thin_journey import REQUEST, eventually

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


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": stack.database_url, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
           "KAFKA_IDEMPOTENCE": "false", "TOPIC_PREFIX": stack.topic_prefix, "COLUMNS": "250"}
    done = subprocess.run([sys.executable, "-m", "shared.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=90)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_request_history_tells_one_request_across_the_services_with_who_and_why(stack: Stack) -> None:
    dispatcher = stack.client("dispatch", Role.dispatcher)
    skill = f"hist{time.monotonic_ns()}"
    assert dispatcher.post("/v1/resources", json={"id": f"tech-{skill}", "name": "Grace", "capacity": 20,
                                                  "skills": [{"name": "repair", "level": 4}]}).status_code == 201
    with stack.client("intake", Role.agent, "agent-h") as agent:
        request_id = agent.post("/v1/requests", json={**REQUEST, "category": None}).json()["id"]
    job = eventually(lambda: dispatcher.get(f"/v1/jobs/{request_id}"),
                     lambda r: r.status_code == 200 and r.json()["status"] == "allocated")
    technician = stack.client("dispatch", Role.technician, job["resource_id"])
    assert technician.post(f"/v1/jobs/{request_id}/start").status_code == 200
    assert technician.post(f"/v1/jobs/{request_id}/resolve",
                           json={"resolution_code": "fixed", "summary": "cleared the jam"}).status_code == 200
    customer = stack.client("feedback", Role.customer, REQUEST["customer"]["id"])
    eventually(lambda: customer.get(f"/v1/requests/{request_id}/closure"),
               lambda r: r.status_code == 200 and r.json()["status"] == "awaiting_confirmation")

    done = cli(stack, "request", "history", request_id, "--json")
    steps = json.loads(done.stdout)
    names = [(s["service"], s["event"]) for s in steps]
    assert done.returncode == 0 and names[0] == ("intake", "RequestReceived")
    for made in (("dispatch", "JobOpened"), ("dispatch", "ResourceAllocated"), ("dispatch", "IssueResolved"),
                 ("feedback", "ConfirmationRequested")):
        assert made in names, names
    assert len(names) == len(set((s["service"], s["event"], s["stream"], s["version"]) for s in steps))  # no copies
    assert [s["time"] for s in steps] == sorted(s["time"] for s in steps)
    allocated = next(s for s in steps if s["event"] == "ResourceAllocated")
    assert allocated["who"] and (allocated["why"] or "").startswith("score ") == bool(allocated["data"].get("score"))
    assert steps[0]["who"] == "agent-h" and steps[0]["data"]["title"] == "[sealed]"
    assert "Ada Lovelace" not in done.stdout and "enc:v1:" not in done.stdout
    table = cli(stack, "request", "history", request_id)
    assert table.returncode == 0 and "ResourceAllocated" in table.stdout
    missing = cli(stack, "request", "history", "no-such-request")
    assert missing.returncode == 1 and missing.stderr.startswith("servicetrail: no request")


def test_relay_status_shows_each_relay_caught_up_with_its_store(stack: Stack) -> None:
    with stack.client("intake", Role.agent) as agent:
        assert agent.post("/v1/requests", json=REQUEST).status_code == 201
    rows = eventually_json(lambda: cli(stack, "relay", "status", "--json"),
                           lambda rows: next(r for r in rows if r["service"] == "intake")["behind"] == 0)
    intake = next(r for r in rows if r["service"] == "intake")
    assert intake["store_head"] >= 2 and intake["relay"] == intake["store_head"]
    assert next(r for r in rows if r["service"] == "analytics")["relay"] is None  # it publishes nothing
    one = cli(stack, "relay", "status", "intake", "--json")
    assert [r["service"] for r in json.loads(one.stdout)] == ["intake"]
    unknown = cli(stack, "relay", "status", "nowhere")
    assert unknown.returncode == 2 and "unknown service" in unknown.stderr


def eventually_json(run, ok, timeout: float = 30):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        rows = json.loads(run().stdout)
        if ok(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


def test_analytics_facts_rebuilt_from_the_command_line_go_live_with_the_checksum_of_the_ones_they_replace(
        stack: Stack) -> None:
    """Analytics builds the version in its own process; the command asks for it and follows it."""
    with stack.client("intake", Role.agent) as agent:
        request_id = agent.post("/v1/requests", json=REQUEST).json()["id"]
    analyst = stack.client("analytics", Role.analyst)
    eventually(lambda: analyst.get(f"/v1/requests/{request_id}/timeline"), lambda r: r.status_code == 200)
    admin = stack.client("analytics", Role.admin)

    def settled(r: httpx.Response) -> bool:  # every reaction to it archived and folded: nothing moves
        live = next(v for v in r.json()["versions"] if v["status"] == "live")
        return live["position"] == live["head"] and analyst.get(
            f"/v1/requests/{request_id}/timeline").json()["events"][-1]["name"] != "RequestReceived"
    eventually(lambda: admin.get("/v1/read-models"), settled)
    time.sleep(0.5)  # and stays so (dispatch's allocation of it, if any, would show here)
    eventually(lambda: admin.get("/v1/read-models"), settled)
    live = [v["version"] for v in admin.get("/v1/read-models").json()["versions"] if v["status"] == "live"]
    done = cli(stack, "projections", "rebuild", "analytics", "facts")
    assert done.returncode == 0 and "is live at position" in done.stdout, done
    assert "differed" not in done.stdout and "not compared" not in done.stdout, done.stdout
    versions = {v["version"]: v["status"] for v in admin.get("/v1/read-models").json()["versions"]}
    assert [n for n, s in versions.items() if s == "live"] == [max(versions)] and versions[live[0]] == "retired"
    unknown = cli(stack, "projections", "rebuild", "analytics", "nothing")
    assert unknown.returncode == 1 and "it has: facts" in unknown.stderr
