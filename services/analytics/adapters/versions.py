"""Which version of the read model is live, which is being built beside it, and which are retired."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.db import Conn, fetch, ident
from shared.errors import InvalidTransition


@dataclass(frozen=True)
class Version:
    version: int
    status: str  # building | live | retired | dropped
    requested_by: str
    created_at: datetime
    live_at: datetime | None
    retired_at: datetime | None


class Versions:
    def __init__(self, schema: str) -> None:
        self.schema = ident(schema)
        self.table = f"{self.schema}.read_model_versions"
        self.lock_key = f"servicetrail.read_models.{schema}"

    async def lock(self, conn: Conn) -> None:
        """Serialise version changes across replicas, until the transaction ends."""
        await fetch(conn, "SELECT pg_advisory_xact_lock(hashtext($1))", self.lock_key)

    async def all(self, conn: Conn, *statuses: str) -> list[Version]:
        rows = await fetch(conn, f"SELECT version, status, requested_by, created_at, live_at, retired_at "
                                 f"FROM {self.table} WHERE cardinality($1::text[]) = 0 OR status = ANY($1::text[]) "
                                 f"ORDER BY version", list(statuses))
        return [Version(*r) for r in rows]

    async def live(self, conn: Conn) -> int | None:
        rows = await fetch(conn, f"SELECT version FROM {self.table} WHERE status = 'live'")
        return int(rows[0][0]) if rows else None

    async def add(self, conn: Conn, status: str, by: str, now: datetime) -> int:
        """A new version (call under `lock`); only one may be building at a time."""
        if status == "building" and await self.all(conn, "building"):
            raise InvalidTransition("a rebuild is already in progress; wait for it to switch")
        rows = await fetch(
            conn,
            f"INSERT INTO {self.table} (version, status, requested_by, created_at, live_at) "
            f"SELECT coalesce(max(version), 0) + 1, $1::text, $2::text, $3::timestamptz, "
            f"CASE WHEN $1::text = 'live' THEN $3::timestamptz END "
            f"FROM {self.table} RETURNING version",
            status, by, now,
        )
        return int(rows[0][0])

    async def switch(self, conn: Conn, version: int, now: datetime) -> bool:
        """Make a building version live and retire the one it replaces (call under `lock`)."""
        building = await fetch(conn, f"SELECT 1 FROM {self.table} WHERE version = $1 AND status = 'building'",
                               version)
        if not building:
            return False
        # Retire first: at most one version is live at any statement's end.
        await fetch(conn, f"UPDATE {self.table} SET status = 'retired', retired_at = $1 WHERE status = 'live'", now)
        rows = await fetch(conn, f"UPDATE {self.table} SET status = 'live', live_at = $2 "
                                 f"WHERE version = $1 RETURNING 1", version, now)
        return bool(rows)

    async def mark_dropped(self, conn: Conn, version: int) -> None:
        await fetch(conn, f"UPDATE {self.table} SET status = 'dropped' WHERE version = $1", version)
