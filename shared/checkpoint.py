"""How far a follower of a schema's global positions has got, and the lock that makes it single."""
from __future__ import annotations

import structlog

from shared.db import RELAXED_COMMIT_SQL, Conn, Database, fetch, ident

log = structlog.get_logger(__name__)


class Checkpoint:
    """A named position in `<schema>.checkpoints`; at most one holder works on it at a time."""

    def __init__(self, schema: str, name: str) -> None:
        self.schema, self.name = ident(schema), name
        self.lock_key = f"servicetrail.follower.{schema}.{name}"

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

    async def try_lead(self, conn: Conn) -> bool:
        """Held until the caller's transaction ends; False while another holder has it.

        A leader's transaction commits relaxed (`shared.db.RELAXED_COMMIT_SQL`): what it writes is
        derived from durable facts.
        """
        rows = await fetch(conn, f"SELECT pg_try_advisory_xact_lock(hashtext($1)), {RELAXED_COMMIT_SQL}",
                           self.lock_key)
        return bool(rows[0][0])

    async def rewind(self, db: Database, position: int) -> None:
        """Go back to `position` (republish, rebuild), after any batch in flight."""
        async with db.begin() as conn:
            # Wait out a batch in flight, or its checkpoint would overwrite this one.
            await fetch(conn, "SELECT pg_advisory_xact_lock(hashtext($1))", self.lock_key)
            await self.save(conn, position)
        log.info("checkpoint rewound", schema=self.schema, name=self.name, position=position)
