"""The local stack behind `make run`: databases, broker and service processes, stopped together."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console

from shared.runtime.embedded import EmbeddedBroker, EmbeddedPostgres

console = Console(stderr=True)
DEV_SECRETS = "DEV_SECRETS"


def use_development_keys() -> None:
    """Let this process, and every process it starts, use the development keys for the ones not
    given (DEV_SECRETS=true; shared/keys.py). For the local stack, the tests, the benchmarks and
    `make chaos` only: a deployment never calls this, so without its keys it refuses to start."""
    os.environ.setdefault(DEV_SECRETS, "true")


class LocalStack:
    def __init__(self, var_dir: Path, broker_port: int) -> None:
        self.var_dir, self.broker_port = var_dir, broker_port
        self.env = dict(os.environ)
        self._postgres: EmbeddedPostgres | None = None
        self._broker: EmbeddedBroker | None = None
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._ports: dict[str, int] = {}

    def __enter__(self) -> "LocalStack":
        # Stop cleanly on Ctrl-C and when a supervisor asks, even if started with SIGINT ignored.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if not self.env.get("DATABASE_URL"):
            self._postgres = EmbeddedPostgres(self.var_dir / "postgres")
            self.env["DATABASE_URL"] = self._postgres.start()
            console.print(f"embedded PostgreSQL: {self.env['DATABASE_URL']}")
        if not self.env.get("KAFKA_BOOTSTRAP_SERVERS"):
            self._broker = EmbeddedBroker(self.broker_port, self.var_dir / "broker.log")
            self.env["KAFKA_BOOTSTRAP_SERVERS"] = self._broker.start()
            # The embedded broker keeps nothing: it starts empty (a new cluster id), which each
            # relay's broker watch notices, so everything is published again and consumers skip
            # what they applied before. It has no idempotent producer.
            self.env["KAFKA_IDEMPOTENCE"] = "false"
            console.print(f"embedded broker: {self.env['KAFKA_BOOTSTRAP_SERVERS']}")
        return self

    def start_services(self, services: dict[str, int]) -> None:
        for name, port in services.items():
            self._ports[name] = port
            log = open(self.var_dir / f"{name}.log", "ab")
            self._children[name] = subprocess.Popen(
                [sys.executable, "-m", "shared.cli", "serve", name, "--port", str(port)],
                env=self.env, stdout=log, stderr=log,
                start_new_session=True,  # Ctrl-C reaches only us; we stop the children in order
            )
        await_ready(self.urls(), self._children, timeout=90, logs=self.var_dir)

    def urls(self) -> dict[str, str]:
        return {name: f"http://127.0.0.1:{port}" for name, port in self._ports.items()}

    def wait(self) -> None:
        try:
            while all(child.poll() is None for child in self._children.values()):
                time.sleep(0.5)
            dead = [n for n, c in self._children.items() if c.poll() is not None]
            console.print(f"[red]stopped unexpectedly: {', '.join(dead)} (see {self.var_dir}/<service>.log)")
        except KeyboardInterrupt:
            console.print("stopping…")

    def __exit__(self, *exc: object) -> None:
        for child in self._children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self._children.values():
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        if self._broker:
            self._broker.stop()
        if self._postgres:
            self._postgres.stop()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def await_ready(
    urls: dict[str, str], processes: dict[str, subprocess.Popen[bytes]], timeout: float, logs: Path
) -> None:
    """Poll each service's /readyz until all answer 200; fail early if a process exits."""
    deadline, waiting = time.monotonic() + timeout, set(urls)
    while waiting and time.monotonic() < deadline:
        for name in sorted(waiting):
            if processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited; see {logs / (name + '.log')}")
            try:
                if httpx.get(f"{urls[name]}/readyz", timeout=1).status_code == 200:
                    waiting.discard(name)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    if waiting:
        raise RuntimeError(f"not ready after {timeout}s: {', '.join(sorted(waiting))}")
