"""Analytics' copy of every event it consumed, from every service: the log its read models fold.

It is analytics' own event store table, so every event gets a gap-free global position after
commit; a projection (or a rebuild of one) follows those positions exactly once. Stream ids and
versions are the producing service's own.
"""
from __future__ import annotations

from typing import Any

import orjson

from shared.db import Conn, fetch, from_jsonb, ident
from shared.envelope import Envelope
from shared.events import parse_event_type
from shared.eventstore.store import PERSONAL_SQL, queued


class Archive:
    def __init__(self, schema: str) -> None:
        s = self.schema = ident(schema)
        self._record_sql = queued(s, (
            f"INSERT INTO {s}.events (event_id, stream_id, stream_version, type, subject, time, correlation_id, "
            f"causation_id, data, personal) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, "
            f"{PERSONAL_SQL.format('$10::text')}) ON CONFLICT (event_id) DO NOTHING"
        ))
        # The event name is cut out of the CloudEvents type by the database: cheaper than in Python.
        self._page_sql = (f"SELECT p.position, split_part(e.type, '.', 3), e.subject, e.time, e.data::text "
                          f"FROM {s}.event_positions p JOIN {s}.events e ON e.id = p.id "
                          f"WHERE p.position > $1 ORDER BY p.position LIMIT $2")

    async def record(self, conn: Conn, env: Envelope) -> None:
        await fetch(conn, self._record_sql, env.id, env.stream_id, env.stream_version, env.type, env.subject,
                    env.time, env.correlation_id, env.causation_id, orjson.dumps(env.data).decode(),
                    ",".join(env.personal))

    async def page(self, conn: Conn, after: int, limit: int) -> list[tuple[int, str, str, Any, dict[str, Any]]]:
        """(position, event name, subject, time, data) of committed events above `after`."""
        rows = await conn.fetch(self._page_sql, after, limit)
        loads = orjson.loads
        return [(position, name, subject, time, loads(data)) for position, name, subject, time, data in rows]

    async def of_subject(self, conn: Conn, subject: str) -> list[dict[str, Any]]:
        """Every event about one request (or other subject), from every service, in order."""
        rows = await fetch(
            conn,
            f"SELECT event_id, type, time, stream_id, stream_version, correlation_id, causation_id, data, personal "
            f"FROM {self.schema}.events WHERE subject = $1 ORDER BY time, id",
            subject,
        )
        return [
            {"id": str(r[0]), "service": parse_event_type(r[1])[0], "type": r[1], "name": parse_event_type(r[1])[1],
             "time": r[2], "stream_id": r[3], "stream_version": r[4], "correlation_id": r[5],
             "causation_id": r[6], "data": from_jsonb(r[7]), "personal": list(r[8] or ())}
            for r in rows
        ]
