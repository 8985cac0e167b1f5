"""The four services as real processes (`servicetrail serve`), on the suite's PostgreSQL and broker."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Iterator

import httpx
import pytest

from shared.auth import Role, TokenService
from shared.runtime.embedded import free_port
from shared.runtime.launcher import await_ready
from shared.settings import Settings
from tests.conftest import ROOT, Broker

SERVICES = ("intake", "dispatch", "feedback", "analytics")


class Stack:
    def __init__(self, urls: dict[str, str], topic_prefix: str = "", database_url: str = "", bootstrap: str = "") -> None:
        self.urls, self.topic_prefix, self.database_url, self.bootstrap = urls, topic_prefix, database_url, bootstrap
        self._tokens = TokenService(Settings())

    def client(self, service: str, role: Role, subject: str | None = None) -> httpx.Client:
        token = self._tokens.mint(role, subject or f"e2e-{role.value}")
        return httpx.Client(base_url=self.urls[service], headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture(scope="session")
def stack(database_url: str, broker: Broker) -> Iterator[Stack]:
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_IDEMPOTENCE": str(broker.idempotence).lower(),
        "RELAY_POLL_SECONDS": "0.05",
        "CONSUMER_SESSION_TIMEOUT_MS": "3000",
        # Topics and groups of its own: other tests publish made-up events on the suite's broker
        # (skeletons, and requests whose deterministic ids recur across schemas), which are not
        # this stack's history.
        "TOPIC_PREFIX": f"e2e-{run}-",
        "CONSUMER_GROUP_PREFIX": f"e2e-{run}-",
    }
    ports = {name: free_port() for name in SERVICES}
    logs = ROOT / "var" / "e2e"
    logs.mkdir(parents=True, exist_ok=True)
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "serve", name, "--port", str(port)],
            env=env, cwd=ROOT, stdout=open(logs / f"{name}.log", "ab"), stderr=subprocess.STDOUT,
        )
        for name, port in ports.items()
    }
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        await_ready(urls, processes, timeout=60, logs=logs)
        yield Stack(urls, env["TOPIC_PREFIX"], database_url, broker.bootstrap)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(15)
