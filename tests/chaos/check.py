"""What the stores say against what every consumer and read model holds: lost and duplicated.

- lost: a request a client was told was recorded (201) but intake's store lacks; an event of a
  store that a consumer of its topic has not applied; an event missing from analytics' archive; a
  request with no row in a read model that must have one.
- duplicated: an effect of one consumed event recorded twice, i.e. two events of one type in one
  stream caused by the same event of another service.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from shared.contracts import SUBSCRIPTIONS
from shared.db import plain_url

STORES = ("intake", "dispatch", "feedback")
CONSUMES = {service: tuple(t.split(".")[0] for t in topics) for service, topics in SUBSCRIPTIONS.items()}


@dataclass
class Verdict:
    events: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    duplicated: dict[str, int] = field(default_factory=dict)

    @property
    def lost_total(self) -> int:
        return sum(self.lost.values())

    @property
    def duplicated_total(self) -> int:
        return sum(self.duplicated.values())


async def verify(database_url: str, acknowledged: list[str]) -> Verdict:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        return await _verify(conn, acknowledged)
    finally:
        await conn.close()


async def _verify(conn: asyncpg.Connection, acknowledged: list[str]) -> Verdict:
    verdict = Verdict()
    ids = {s: {str(r[0]) for r in await conn.fetch(f"SELECT event_id FROM {s}.events")} for s in STORES}
    verdict.events = sum(len(v) for v in ids.values())
    received = {r[0] for r in await conn.fetch(
        "SELECT subject FROM intake.events WHERE type LIKE 'servicetrail.intake.RequestReceived.v%'")}  # any version
    verdict.lost["acknowledged submits"] = len(set(acknowledged) - received)
    for consumer, sources in CONSUMES.items():
        applied = {str(r[0]) for r in await conn.fetch(
            f"SELECT event_id FROM {consumer}.applied_events WHERE consumer = $1", consumer)}
        verdict.lost[f"{consumer} consumer"] = sum(len(ids[s] - applied) for s in sources)
    archived = {str(r[0]) for r in await conn.fetch("SELECT event_id FROM analytics.events")}
    verdict.lost["analytics archive"] = len(set().union(*ids.values()) - archived)
    verdict.lost["intake read model"] = len(received - {r[0] for r in await conn.fetch(
        "SELECT id FROM intake.requests")})
    verdict.lost["feedback requests"] = len(received - {r[0] for r in await conn.fetch(
        "SELECT request_id FROM feedback.requests")})
    for store in STORES:
        others = list(set().union(*(ids[s] for s in STORES if s != store)))
        verdict.duplicated[f"{store} effects"] = int(await conn.fetchval(f"""
            SELECT count(*) FROM (SELECT 1 FROM {store}.events WHERE causation_id = ANY($1::text[])
                                  GROUP BY stream_id, type, causation_id HAVING count(*) > 1) d""", others))
    return verdict


async def settled(database_url: str, acknowledged: list[str]) -> bool:
    """Nothing lost any more (consumers caught up); used to time recovery."""
    return (await verify(database_url, acknowledged)).lost_total == 0
