"""The timeline read model: one row per event about a request."""
from __future__ import annotations

from typing import Any

import orjson

from shared.db import Conn, fetch, from_jsonb, ident
from shared.envelope import Envelope


class TimelineStore:
    def __init__(self, schema: str) -> None:
        self.schema = ident(schema)

    async def add(self, conn: Conn, env: Envelope) -> None:
        await fetch(
            conn,
            f"INSERT INTO {self.schema}.timeline (event_id, request_id, service, type, name, time, "
            f"stream_id, stream_version, correlation_id, causation_id, data, personal) "
            f"VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::text[]) "
            f"ON CONFLICT (event_id) DO NOTHING",
            env.id, env.subject, env.service, env.type, env.name, env.time, env.stream_id,
            env.stream_version, env.correlation_id, env.causation_id, orjson.dumps(env.data).decode(),
            list(env.personal),
        )

    async def of_request(self, conn: Conn, request_id: str) -> list[dict[str, Any]]:
        rows = await fetch(
            conn,
            f"SELECT event_id, service, type, name, time, stream_id, stream_version, correlation_id, "
            f"causation_id, data, personal FROM {self.schema}.timeline WHERE request_id = $1 ORDER BY time, seq",
            request_id,
        )
        keys = ("id", "service", "type", "name", "time", "stream_id", "stream_version",
                "correlation_id", "causation_id", "data", "personal")
        return [
            {**dict(zip(keys, row, strict=True)), "id": str(row[0]), "data": from_jsonb(row[9]),
             "personal": list(row[10] or ())} for row in rows
        ]
