"""How far a follower of a schema's global positions has got, and the lock that makes it single.

Leadership is a transaction-scoped advisory lock held under a `Lease`, so a holder that hangs
(a frozen process, a stalled event loop) loses it within a bounded time instead of never.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from shared.db import RELAXED_COMMIT_SQL, Conn, Database, fetch, ident

log = structlog.get_logger(__name__)
_TIMEOUTS = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
# Holders of one single-key advisory lock (a bigint is split into classid/objid in pg_locks) whose
# session has neither started nor finished anything for a lease. PostgreSQL's own timeouts miss
# one case: a session frozen between a statement's Parse and its Bind is "active", waiting on the
# client, and no timeout fires; so a would-be leader ends it.
_STALE_HOLDERS_SQL = """
    SELECT pg_terminate_backend(a.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND a.pid <> pg_backend_pid()
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ((hashtext($1)::bigint >> 32) & 4294967295)::oid
      AND l.objid = (hashtext($1)::bigint & 4294967295)::oid
      AND a.state_change < clock_timestamp() - make_interval(secs => $2)"""


@dataclass(frozen=True)
class Lease:
    """How long a leadership lock may be held without a sign of life from its holder.

    Set local to the holder's transaction: each statement, each lock wait and each pause between
    statements is cut off after `seconds` (PostgreSQL then ends the session, releasing its locks and
    rolling its work back). Work the holder does elsewhere while holding it (publishing) must finish
    within `work_seconds`, so a live but slow holder gives up before it is cut off.
    """

    seconds: float = 20.0

    @property
    def work_seconds(self) -> float:
        return self.seconds / 2

    def sql(self) -> str:
        """set_config calls for a SELECT list; put them before a lock taken in the same list
        (PostgreSQL evaluates a SELECT list in order), so the lock's wait is bounded too."""
        ms = max(1, int(self.seconds * 1000))
        return ", ".join(f"set_config('{name}', '{ms}', true)" for name in _TIMEOUTS)


class Checkpoint:
    """A named position in `<schema>.checkpoints`; at most one holder works on it at a time."""

    def __init__(self, schema: str, name: str) -> None:
        self.schema, self.name = ident(schema), name
        self.lock_key = f"servicetrail.follower.{schema}.{name}"
        self._next_stale_check = 0.0

    async def read(self, conn: Conn) -> int:
        rows = await fetch(conn, f"SELECT position FROM {self.schema}.checkpoints WHERE name = $1", self.name)
        return int(rows[0][0]) if rows else 0

    async def save(self, conn: Conn, position: int) -> None:
        await fetch(
            conn,
            f"INSERT INTO {self.schema}.checkpoints (name, position) VALUES ($1, $2) "
            f"ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
            self.name,
            position,
        )

    async def forget(self, conn: Conn) -> None:
        await fetch(conn, f"DELETE FROM {self.schema}.checkpoints WHERE name = $1", self.name)

    async def try_lead(self, conn: Conn, lease: Lease = Lease()) -> bool:
        """Held until the caller's transaction ends, under `lease`; False while another holder has it
        (and then a holder silent for longer than the lease is ended, so the next try succeeds).

        A leader's transaction commits relaxed (`shared.db.RELAXED_COMMIT_SQL`): what it writes is
        derived from durable facts.
        """
        rows = await fetch(conn, f"SELECT {lease.sql()}, pg_try_advisory_xact_lock(hashtext($1)) AS led, "
                                 f"{RELAXED_COMMIT_SQL}", self.lock_key)
        if rows[0]["led"]:
            return True
        if time.monotonic() >= self._next_stale_check:  # pg_locks is not free: a few looks a lease
            self._next_stale_check = time.monotonic() + lease.seconds / 4
            await self.end_stale_holder(conn, lease)
        return False

    async def end_stale_holder(self, conn: Conn, lease: Lease) -> bool:
        ended = [r[0] for r in await fetch(conn, _STALE_HOLDERS_SQL, self.lock_key, lease.seconds)]
        if ended:
            log.warning("ended a leader silent for longer than its lease", schema=self.schema, name=self.name,
                        lease_seconds=lease.seconds)
        return any(ended)

    async def rewind(self, db: Database, position: int, lease: Lease = Lease()) -> None:
        """Go back to `position` (republish, rebuild), after any batch in flight."""
        async with db.begin() as conn:
            # Wait out a batch in flight, or its checkpoint would overwrite this one; a holder that
            # hangs is cut off by its lease, and this wait by ours.
            await fetch(conn, f"SELECT {lease.sql()}, pg_advisory_xact_lock(hashtext($1))", self.lock_key)
            await self.save(conn, position)
        log.info("checkpoint rewound", schema=self.schema, name=self.name, position=position)
