"""A request's whole record across the services that act on it, read from their own event stores:
every event a service made whose subject is the request, or whose data names it (`request_id`), in
time order. Events a service only keeps a copy of (analytics' archive) are shown once, as made."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from shared.db import Database, fetch, ident
from shared.events import parse_event_type
from shared.ops.tail import hidden

# Deadlines end in "_by" too: they say when, not who.
_NOT_WHO = frozenset({"respond_by", "resolve_by"})


@dataclass(frozen=True)
class Step:
    time: datetime
    service: str
    event: str
    stream: str
    version: int
    who: str | None
    why: str | None  # the decision's explanation: a score breakdown, a reason
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"time": self.time.isoformat(), "service": self.service, "event": self.event, "stream": self.stream,
                "version": self.version, "who": self.who, "why": self.why, "data": self.data}


def who(data: Mapping[str, Any]) -> str | None:
    """Whoever the event says acted: its `…_by` field (allocated_by, taken_by, …), else its owner
    or technician."""
    for key, value in data.items():
        if key.endswith("_by") and key not in _NOT_WHO and isinstance(value, str):
            return value
    return next((str(data[k]) for k in ("owner", "technician_id", "resource_id") if data.get(k)), None)


def why(data: Mapping[str, Any]) -> str | None:
    parts = []
    if isinstance(score := data.get("score"), dict) and score:
        parts.append("score " + ", ".join(f"{k} {v:g}" if isinstance(v, (int, float)) else f"{k} {v}"
                                          for k, v in score.items()))
    if data.get("reason"):
        parts.append(str(data["reason"]))
    return "; ".join(parts) or None


async def request_history(db: Database, schemas: Mapping[str, str], request_id: str) -> list[Step]:
    """`schemas`: each service's name → its schema, in the database `db` reaches."""
    steps: list[Step] = []
    async with db.connect() as conn:
        for service, schema in schemas.items():
            s = ident(schema)
            if (await fetch(conn, "SELECT to_regclass($1)", f"{s}.events"))[0][0] is None:
                continue  # a service not deployed here
            rows = await fetch(conn, f"SELECT time, type, stream_id, stream_version, data FROM {s}.events "
                                     "WHERE subject = $1 OR data @> jsonb_build_object('request_id', $1::text) "
                                     "ORDER BY time, id", request_id)
            for at, type_, stream, version, data in rows:
                producer, name, _ = parse_event_type(type_)
                if producer != service:
                    continue  # a copy of another's event (analytics' archive): shown where it was made
                shown = hidden(data)
                steps.append(Step(at, service, name, stream, version, who(shown), why(shown), shown))
    steps.sort(key=lambda step: step.time)
    return steps
