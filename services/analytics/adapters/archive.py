"""Analytics' copy of every event it consumed, from every service: the log its read models fold.

It is analytics' own event store table, so every event gets a gap-free global position after
commit; a projection (or a rebuild of one) follows those positions exactly once. Event ids, stream
ids and versions are the producing service's own.

The archiver keeps each event as its published contract's current version (`kept_form`), not as
received: an upcaster then runs once per event, when it arrives, instead of on every rebuild; every
fold reads nearly every row straight from its JSON text in one shape per event name (see
`adapters.decoding`), and so does the timeline. Nothing is lost: the upcast event says what the old
one said, under the same id, and the producer's own store keeps what it published. Rows of an older
version (archived before, or before a later version came out) are upcast when they are read.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from shared.db import Conn, fetch, from_jsonb, ident
from shared.envelope import Envelope
from shared.events import DomainEvent, event_type, parse_event_type
from shared.eventstore.store import PERSONAL_SQL, queued
from shared.repository import personal_paths

Row = tuple[int, str, str, datetime, str]  # position, full ce_type, subject, time, data as JSON text


def kept_form(event: DomainEvent, env: Envelope) -> Envelope:
    """`env` as the archive keeps it: its decoded `event` as its contract's current version."""
    cls = type(event)
    return replace(env, type=event_type(env.service, cls.event_name(), cls.version),
                   data=event.model_dump(mode="json"), personal=personal_paths(cls), event=event)


class Archive:
    def __init__(self, schema: str) -> None:
        s = self.schema = ident(schema)
        self._record_sql = queued(s, (
            f"INSERT INTO {s}.events (event_id, stream_id, stream_version, type, subject, time, correlation_id, "
            f"causation_id, data, personal) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, "
            f"{PERSONAL_SQL.format('$10::text')}) ON CONFLICT (event_id) DO NOTHING"
        ))
        self._page_sql = (f"SELECT p.position, e.type, e.subject, e.time, e.data::text "
                          f"FROM {s}.event_positions p JOIN {s}.events e ON e.id = p.id "
                          f"WHERE p.position > $1 ORDER BY p.position LIMIT $2")

    async def keep(self, conn: Conn, event: DomainEvent, env: Envelope) -> None:
        """Archive a consumed event, decoded into its contract (`event`), as its current version."""
        await self.record(conn, kept_form(event, env))

    async def record(self, conn: Conn, env: Envelope) -> None:
        """Archive `env` exactly as given."""
        await fetch(conn, self._record_sql, env.id, env.stream_id, env.stream_version, env.type, env.subject,
                    env.time, env.correlation_id, env.causation_id, orjson.dumps(env.data).decode(),
                    ",".join(env.personal))

    async def page(self, conn: Conn, after: int, limit: int) -> list[Row]:
        """Committed events above `after`, in order, their data left as JSON text for the reader to
        decode into its contract (see `adapters.decoding`)."""
        return await conn.fetch(self._page_sql, after, limit)  # type: ignore[no-any-return]

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
