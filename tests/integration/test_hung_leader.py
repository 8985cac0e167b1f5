"""A leader that hangs (SIGSTOP) while holding a leadership lock loses it within the lease.

Two real `servicetrail work intake` processes run the relay and the position sequencer; the test
freezes whichever holds a lock at the moment it holds it, then records more requests and expects
the other process to carry on within a bound derived from LEADER_LEASE_SECONDS.

To catch a holder mid-transaction deterministically, the test's own transaction first takes a
lock the holder's next statement needs (the relay checkpoint's row, or the positions table), so
the holder blocks there, lock held; the test freezes that process and lets the statement finish:
its session is then "idle in transaction", holding the lock, as in the reported incident.
"""
from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid

import asyncpg
import psutil
import pytest
from sqlalchemy.engine import make_url

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.checkpoint import Checkpoint, Lease
from shared.db import plain_url
from tests.api.conftest import request_body
from tests.conftest import ROOT
from tests.support.app import as_role, serving
from tests.support.kafka import header, read_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

LEASE = 3.0
# Frozen holder ended after LEASE idle; a waiter gives up after LEASE, retries after ~1 s, polls.
BOUND = 2 * LEASE + 4


def owner_of(application_name: str, pids: list[int]) -> int:
    """The worker process a session belongs to: shared.db names every session "<name>:<os pid>"."""
    pid = int(application_name.rsplit(":", 1)[-1])
    assert pid in pids, f"no worker owns the session of {application_name!r}"
    return pid


def stopped(pid: int):  # noqa: ANN201
    async def check() -> bool:
        return psutil.Process(pid).status() == psutil.STATUS_STOPPED
    return check


async def blocked_by(conn: asyncpg.Connection, timeout: float = 10.0) -> tuple[int, str]:
    """(backend pid, application name) of the session waiting on a lock this connection holds."""
    rows: list = []

    async def waiting() -> bool:
        rows[:] = await conn.fetch(
            "SELECT pid, application_name FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
            conn.get_server_pid())
        return bool(rows)

    await until(waiting, timeout)
    return rows[0][0], rows[0][1]


@pytest.mark.parametrize("frozen_in", ["relay", "sequencer"])
async def test_a_frozen_leader_loses_its_lock_within_the_lease(settings_for, broker, db, frozen_in):
    settings = settings_for("intake", IntakeSettings, background_work=False)
    schema = settings.schema_name
    env = {**os.environ, "DATABASE_URL": settings.database_url, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
           "KAFKA_IDEMPOTENCE": str(broker.idempotence).lower(), "DB_SCHEMA": schema,
           "CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix, "RELAY_POLL_SECONDS": "0.05",
           "LEADER_LEASE_SECONDS": str(LEASE), "LOG_LEVEL": "WARNING"}
    async with serving(bootstrap(settings)) as client:
        async def submit() -> None:
            response = await client.post("/v1/requests", json=request_body(), headers=as_role(Role.agent))
            assert response.status_code == 201, response.text

        async def published_all() -> bool:
            async with db.connect() as conn:
                head = await conn.fetchval(f"SELECT count(*) FROM {schema}.events")
                positioned = await conn.fetchval(f"SELECT coalesce(max(position), 0) FROM {schema}.event_positions")
                relayed = await conn.fetchval(f"SELECT position FROM {schema}.checkpoints WHERE name = 'relay'")
            return positioned == head and relayed == head

        workers = [subprocess.Popen([sys.executable, "-m", "shared.cli", "work", "intake"], cwd=ROOT, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        pids = [w.pid for w in workers]
        frozen: int | None = None
        probe = await asyncpg.connect(plain_url(settings.database_url))
        try:
            await submit()
            await until(published_all, timeout=60)  # both workers up, the relay's checkpoint row exists

            tx = probe.transaction()
            await tx.start()
            if frozen_in == "relay":  # the relay leader's checkpoint save will wait for this row
                await probe.execute(f"SELECT 1 FROM {schema}.checkpoints WHERE name = 'relay' FOR UPDATE")
            else:  # the sequencer's insert will wait for this table
                await probe.execute(f"LOCK TABLE {schema}.event_positions IN SHARE MODE")
            await submit()
            backend, name = await blocked_by(probe)
            frozen = owner_of(name, pids)
            os.kill(frozen, signal.SIGSTOP)
            await until(stopped(frozen), timeout=5)
            await tx.rollback()  # the holder's statement completes; its process cannot commit

            async def settled() -> bool:  # past our lock, now waiting on its frozen client
                return await probe.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1",
                                            backend) in ("Client", None)

            await until(settled, timeout=5)
            frozen_at = time.monotonic()
            for _ in range(3):
                await submit()
            await until(published_all, timeout=BOUND)  # the old code: stood still with the lock held
            assert time.monotonic() - frozen_at <= BOUND
            # The frozen session holds no lock now: its lease ended it (the relay), or it never kept one
            # while waiting on its client (the sequencer's lock and numbering go in one message).
            assert await probe.fetchval("SELECT count(*) FROM pg_locks WHERE pid = $1 AND locktype = 'advisory'",
                                        backend) == 0

            ids = {str(r[0]) for r in await probe.fetch(f"SELECT event_id FROM {schema}.events")}
            seen: set[str] = set()

            async def on_topic() -> bool:
                seen.update(header(r, "ce_id") for r in await read_topic(broker.bootstrap, settings.topic, 1, 5))
                return ids <= seen

            await until(on_topic, timeout=30)
        finally:
            await probe.close()
            if frozen is not None:
                os.kill(frozen, signal.SIGCONT)
            for w in workers:
                w.kill()
                w.wait(15)


def frozen_after_parse(url: str, lock_key: str) -> socket.socket:
    """A raw client that takes `lock_key` in a transaction, then sends a statement's Parse and
    nothing more: its session stays "active", waiting for the Bind, where no timeout of
    PostgreSQL's applies; as a client frozen at that moment (SIGSTOP) would leave it."""
    u = make_url(url)

    def message(kind: bytes, body: bytes) -> bytes:
        return kind + struct.pack("!I", len(body) + 4) + body

    def expect(end: bytes) -> bytes:
        got = b""
        while not got.endswith(end):
            more = sock.recv(65536)
            assert more, f"the server closed the connection: {got!r}"
            got += more
        return got

    if u.query.get("host"):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(f"{u.query['host']}/.s.PGSQL.{u.port or 5432}")
    else:
        sock = socket.create_connection((u.host or "127.0.0.1", u.port or 5432))
    startup = struct.pack("!I", 196608) + b"".join(
        k.encode() + b"\0" + v.encode() + b"\0" for k, v in (("user", u.username), ("database", u.database)))
    sock.settimeout(10)
    sock.sendall(struct.pack("!I", len(startup) + 5) + startup + b"\0")
    if not expect(b"Z\x00\x00\x00\x05I").startswith(b"R\x00\x00\x00\x08\x00\x00\x00\x00"):
        pytest.skip("the test database asks for a password")
    sock.sendall(message(b"Q", f"BEGIN; SELECT pg_advisory_xact_lock(hashtext('{lock_key}'))".encode() + b"\0"))
    expect(b"Z\x00\x00\x00\x05T")
    sock.sendall(message(b"P", b"\0SELECT $1::int\0\0\0") + message(b"H", b""))
    expect(b"1\x00\x00\x00\x04")  # ParseComplete; the Bind never comes
    return sock


async def test_a_holder_frozen_between_parse_and_bind_is_ended_by_the_next_leader(database_url, db):
    checkpoint = Checkpoint(f"t_{uuid.uuid4().hex[:10]}", "relay")
    holder = frozen_after_parse(database_url, checkpoint.lock_key)
    lease = Lease(1.0)
    try:
        async def led() -> bool:
            async with db.begin() as conn:
                return await checkpoint.try_lead(conn, lease)

        assert not await led()
        started = time.monotonic()
        await until(led, timeout=10)
        assert lease.seconds <= time.monotonic() - started <= lease.seconds + 3
        holder.settimeout(5)
        assert b"57P01" in holder.recv(65536)  # terminated by the administrator: the would-be leader
    finally:
        holder.close()
