"""What each consumer has applied: one row per event, so every event takes effect exactly once.

The rule for order: a consumer applies each event once, by its id, whenever it arrives. A stream's
versions are expected one after another, but a version arriving ahead of a missing one does not
hold the stream back (a misplaced or forged record must never block anything); the gap is logged
at warning, counted (`servicetrail_consumer_version_gaps_total`) and listed by `gaps`, and the
missing event is applied when it arrives (a dead-letter redrive or a republish), counted as late.
Handlers therefore fold each event on its own and must not assume they saw every earlier version.

Events applied before this record existed, when only a stream's highest version was kept, are
covered by `applied_floors`: every version at or below a stream's floor counts as applied.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from shared.db import Conn, fetch, ident


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming one event for a consumer."""

    claimed: bool  # False: already applied, skip it
    seen: int  # the stream's highest version applied before this event (0: none)


class AppliedRecord:
    """`<schema>.applied_events` and `<schema>.applied_floors`; every method runs on the caller's
    connection, the claim inside the transaction that applies the event."""

    def __init__(self, schema: str) -> None:
        s = ident(schema)
        # The main query's snapshot does not see the row the CTE inserts: `seen` is what came before.
        self._claim_sql = f"""
            WITH floor AS (SELECT max(version) AS v FROM {s}.applied_floors WHERE consumer = $1 AND stream = $2),
                 claimed AS (
                     INSERT INTO {s}.applied_events (consumer, event_id, stream, version)
                     SELECT $1, $4::uuid, $2, $3 FROM floor WHERE floor.v IS NULL OR floor.v < $3
                     ON CONFLICT DO NOTHING RETURNING 1)
            SELECT (SELECT count(*) FROM claimed),
                   greatest((SELECT v FROM floor), (SELECT max(version) FROM {s}.applied_events
                                                   WHERE consumer = $1 AND stream = $2), 0)"""
        self._known_sql = f"""
            SELECT u.event_id::text FROM unnest($2::uuid[], $3::text[], $4::int[]) AS u(event_id, stream, version)
            WHERE EXISTS (SELECT 1 FROM {s}.applied_events a WHERE a.consumer = $1 AND a.event_id = u.event_id)
               OR EXISTS (SELECT 1 FROM {s}.applied_floors f
                          WHERE f.consumer = $1 AND f.stream = u.stream AND f.version >= u.version)"""
        # A stream has a gap while it holds fewer events above its floor than its highest version.
        self._gaps_sql = f"""
            SELECT a.stream, max(a.version), max(a.version) - coalesce(max(f.version), 0) - count(*)
            FROM {s}.applied_events a
            LEFT JOIN {s}.applied_floors f ON f.consumer = a.consumer AND f.stream = a.stream
            WHERE a.consumer = $1
            GROUP BY a.stream
            HAVING max(a.version) - coalesce(max(f.version), 0) > count(*)
            ORDER BY a.stream LIMIT $2"""

    async def claim(self, conn: Conn, consumer: str, stream: str, version: int, event_id: str) -> Claim:
        """Record the event as applied by `consumer`, unless it already was."""
        row = (await fetch(conn, self._claim_sql, consumer, stream, version, event_id))[0]
        return Claim(claimed=bool(row[0]), seen=int(row[1]))

    async def known(
        self, conn: Conn, consumer: str, events: Sequence[tuple[str, str, int]]
    ) -> set[str]:
        """Of (event id, stream, version) triples, the ids already applied: one round trip for a
        whole fetched batch, so a redelivered or republished history is skipped quickly."""
        if not events:
            return set()
        ids, streams, versions = zip(*events, strict=True)
        rows = await fetch(conn, self._known_sql, consumer, list(ids), list(streams), list(versions))
        return {r[0] for r in rows}

    async def gaps(self, conn: Conn, consumer: str, limit: int = 1000) -> list[tuple[str, int, int]]:
        """Streams missing earlier versions: (stream, highest version applied, how many missing)."""
        rows = await fetch(conn, self._gaps_sql, consumer, limit)
        return [(r[0], int(r[1]), int(r[2])) for r in rows]
