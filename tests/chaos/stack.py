"""The whole system as separate processes the chaos suite may kill: its own embedded PostgreSQL,
its own embedded broker and the four services. Faults touch only processes started here, by pid,
and only this PostgreSQL, never the machine's shared server."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.runtime.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from shared.runtime.launcher import await_ready
from tests.chaos.proxy import FaultyProxy

SERVICES = ("intake", "dispatch", "feedback", "analytics")
ROOT = Path(__file__).resolve().parents[2]


def kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)


class ChaosStack:
    def __init__(self, var_dir: Path, proxy_port: int | None = None, env: dict[str, str] | None = None) -> None:
        """`proxy_port`: clients reach the broker only through a proxy listening there; `env`: more
        settings for every service process (the simulated week's CLOCK_*)."""
        self.var_dir, self.extra_env = var_dir, env or {}
        var_dir.mkdir(parents=True, exist_ok=True)
        self.postgres = EmbeddedPostgres(var_dir / "postgres")
        self.broker = EmbeddedBroker(free_port(), var_dir / "broker.log", advertised_port=proxy_port)
        self.ports = {s: free_port() for s in SERVICES}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: list[subprocess.Popen[bytes]] = []
        self.env: dict[str, str] = {}
        self.proxy: FaultyProxy | None = None  # set by a scenario that puts one in front of the broker

    def urls(self) -> dict[str, str]:
        return {s: f"http://127.0.0.1:{p}" for s, p in self.ports.items()}

    def start(self) -> None:
        url = self.postgres.start()
        self.broker.start()
        self.env = {
            **os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.broker.advertised_port}",
            "KAFKA_IDEMPOTENCE": "false", "LOG_LEVEL": "INFO",
            # Faults should be noticed in seconds here, not in production's minutes.
            "CONSUMER_SESSION_TIMEOUT_MS": "3000", "LEADER_LEASE_SECONDS": "5", "BROKER_CHECK_SECONDS": "2",
            **self.extra_env,
        }
        for service in SERVICES:
            self.start_service(service)
        self.await_ready()

    def await_ready(self, timeout: float = 120) -> None:
        await_ready(self.urls(), self.processes, timeout=timeout, logs=self.var_dir)

    def start_service(self, service: str) -> None:
        log = open(self.var_dir / f"{service}.log", "ab")
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "serve", service, "--port", str(self.ports[service])],
            env=self.env, stdout=log, stderr=log, cwd=ROOT, start_new_session=True)

    def start_worker(self, service: str) -> subprocess.Popen[bytes]:
        """A second process doing `service`'s background work (relay, projections, consumers)."""
        log = open(self.var_dir / f"{service}-work.log", "ab")
        worker = subprocess.Popen([sys.executable, "-m", "shared.cli", "work", service], env=self.env,
                                  stdout=log, stderr=log, cwd=ROOT, start_new_session=True)
        self.workers.append(worker)
        return worker

    def kill_service(self, service: str) -> None:
        kill(self.processes[service])

    def restart_postgres(self, mode: str, outage: float) -> None:
        """Stop our own PostgreSQL (`pg_ctl stop -m mode`), keep it down, start it on the same data."""
        self.postgres.restart(mode, outage)

    def restart_broker(self, outage: float) -> None:
        """Kill our broker by pid and start an empty one on the same port (it keeps nothing)."""
        pid = self.broker.pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            self.broker.wait()
        time.sleep(outage)
        self.broker.start()

    def stop(self) -> None:
        for process in [*self.processes.values(), *self.workers]:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
                process.send_signal(signal.SIGTERM)
        for process in [*self.processes.values(), *self.workers]:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.broker.stop()
        self.postgres.stop()
