"""Event store on PostgreSQL: one per service schema.

Appends are optimistic (unique stream_id + stream_version). A gap-free global `position` is handed
out after commit by `assign_positions`, a single sequencer per schema, in the order commits become
visible; so a reader following positions can never skip a transaction that committed late. The
sequencer's lock is held under a lease (`shared.checkpoint.Lease`), so a hung holder cannot stop
positions for longer than that.
`events` is insert-only: an append queues its rows in `unpositioned`, and the sequencer moves them
into `event_positions`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import orjson

from shared import limits
from shared.checkpoint import Lease
from shared.db import RELAXED_COMMIT_SQL, Conn, execute, fetch, from_jsonb, ident
from shared.envelope import Envelope, check_fits, source_of

EVENT_COLUMNS = ("event_id", "stream_id", "stream_version", "type", "subject", "time", "correlation_id",
                 "causation_id", "data", "personal", "traceparent")  # what an event is, in the table's order
_COLUMNS = ", ".join(EVENT_COLUMNS)
# An event's personal paths travel as one comma-joined string: unnest cannot take ragged arrays.
PERSONAL_SQL = "CASE WHEN {0} = '' THEN '{{}}'::text[] ELSE string_to_array({0}, ',') END"
_E_COLUMNS = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)


def queued(schema: str, insert: str) -> str:
    """An INSERT INTO events (no RETURNING) that also queues what it wrote for a position, and
    returns the event ids it wrote."""
    return (f"WITH written AS ({insert} RETURNING id, event_id), "
            f"queued AS (INSERT INTO {schema}.unpositioned (id) SELECT id FROM written) "
            f"SELECT event_id FROM written")


class ConcurrencyError(Exception):
    """The stream is not at the expected version: someone else appended first."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None) -> None:
        super().__init__(f"stream {stream_id!r} is at version {actual}, expected {expected}")
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


def stamp(events: Sequence[Envelope], stream_id: str, expected_version: int) -> list[Envelope]:
    return [
        dataclasses.replace(e, stream_id=stream_id, stream_version=expected_version + i)
        for i, e in enumerate(events, start=1)
    ]


def columns(events: Sequence[Envelope]) -> list[list[Any]]:
    """Column arrays for `unnest`, in the order of `_COLUMNS` minus stream id and version."""
    return [
        [e.id for e in events],
        [e.type for e in events],
        [e.subject for e in events],
        [e.time for e in events],
        [e.correlation_id for e in events],
        [e.causation_id for e in events],
        [orjson.dumps(e.data).decode() for e in events],
        [",".join(e.personal) for e in events],
        [e.traceparent for e in events],
    ]


class EventStore:
    """Append and read one service's events. Every method runs on the caller's connection."""

    def __init__(self, schema: str, service: str | None = None, lease: Lease = Lease(),
                 max_event_bytes: int | None = None) -> None:
        """`max_event_bytes`: no event larger than this (as the relay would send it) is appended;
        None: EVENT_MAX_BYTES as configured."""
        self.schema = s = ident(schema)
        self.lease = lease  # bounds the sequencer's lock, and the lead of followers of this store
        self.max_event_bytes = max_event_bytes or limits.event_max_bytes()
        self.source = source_of(service or schema)
        self._append_sql = queued(s, f"""
            INSERT INTO {s}.events ({_COLUMNS})
            SELECT e.event_id, $1, $2::int + e.n::int, e.type, e.subject, e.time,
                   e.correlation_id, e.causation_id, e.data::jsonb, {PERSONAL_SQL.format("e.personal")},
                   e.traceparent
            FROM unnest($3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::text[],
                        $8::text[], $9::text[], $10::text[], $11::text[])
                 WITH ORDINALITY AS e(event_id, type, subject, time, correlation_id,
                                      causation_id, data, personal, traceparent, n)
            WHERE $2::int = 0 OR EXISTS (
                SELECT 1 FROM {s}.events WHERE stream_id = $1 AND stream_version = $2::int)
            ORDER BY e.n
            ON CONFLICT DO NOTHING""")
        self._sequence_sql = f"""
            WITH base AS (SELECT coalesce(max(position), 0) AS p FROM {s}.event_positions),
                 taken AS (DELETE FROM {s}.unpositioned WHERE id IN (
                               SELECT id FROM {s}.unpositioned ORDER BY id LIMIT {{limit}}) RETURNING id)
            INSERT INTO {s}.event_positions (position, id)
            SELECT base.p + row_number() OVER (ORDER BY taken.id), taken.id FROM taken, base"""
        # Lock, then number, in one message: the lock is never held while waiting on the client,
        # where a frozen client would keep it past every timeout (unless the caller's transaction
        # goes on, which its lease bounds). Two statements, so the numbering's snapshot is taken
        # after the lock is: it sees the last holder's positions. Only checked names are inlined.
        self._sequencer_lock_sql = (f"SELECT {self.lease.sql()}, {RELAXED_COMMIT_SQL}, "
                                    f"pg_advisory_xact_lock(hashtext('servicetrail.sequencer.{s}'))")
        self._by_position_sql = (
            f"SELECT p.position, {_E_COLUMNS} FROM {s}.event_positions p JOIN {s}.events e ON e.id = p.id "
            f"WHERE p.position > $1 ORDER BY p.position LIMIT $2")

    async def append(
        self, conn: Conn, stream_id: str, events: Sequence[Envelope], expected_version: int
    ) -> int:
        """Append in the caller's transaction; returns the stream's new version.

        A retry carrying the same event ids is a no-op. Raises ConcurrencyError otherwise when
        the stream is not at `expected_version` (the caller's transaction must then roll back).
        """
        if not events:
            return expected_version
        self.check_fits(stamp(events, stream_id, expected_version))
        # A clash on either key (the event ids, or the stream's versions) skips the row rather than
        # failing the statement: a retry racing its first attempt may clash on either, whichever
        # index the insert checks first, and only what was stored can tell it from a lost race.
        rows = await fetch(conn, self._append_sql, stream_id, expected_version, *columns(events))
        if len(rows) == len(events):
            return expected_version + len(events)
        return await self._settle_unwritten(conn, stream_id, events, expected_version)

    def check_fits(self, stamped: Sequence[Envelope]) -> None:
        """EventTooLarge for an event the relay could not publish (Kafka would refuse it, and the
        relay would retry it for good, holding back every event after it). Every append passes
        here, whichever path it takes, before anything of it is written."""
        check_fits(stamped, self.max_event_bytes)

    async def _settle_unwritten(
        self, conn: Conn, stream_id: str, events: Sequence[Envelope], expected: int
    ) -> int:
        found = await fetch(
            conn,
            f"SELECT stream_id, count(*), max(stream_version) FROM {self.schema}.events "
            f"WHERE event_id = ANY($1::uuid[]) GROUP BY stream_id",
            [e.id for e in events],
        )
        if len(found) == 1 and found[0][0] == stream_id and found[0][1] == len(events):
            return int(found[0][2])  # a retry of an append that already committed
        raise ConcurrencyError(stream_id, expected, await self.stream_version(conn, stream_id))

    async def stream_version(self, conn: Conn, stream_id: str) -> int:
        rows = await fetch(
            conn,
            f"SELECT coalesce(max(stream_version), 0) FROM {self.schema}.events WHERE stream_id = $1",
            stream_id,
        )
        return int(rows[0][0])

    async def read_stream(
        self, conn: Conn, stream_id: str, after_version: int = 0
    ) -> list[Envelope]:
        """A stream's events in version order (without their global positions)."""
        rows = await fetch(
            conn,
            f"SELECT NULL::bigint, {_COLUMNS} FROM {self.schema}.events WHERE stream_id = $1 AND stream_version > $2 "
            f"ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return [self._envelope(r) for r in rows]

    async def read_streams(self, conn: Conn, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        """Several whole streams in one statement, each in version order (a stream with no event
        is absent)."""
        rows = await fetch(
            conn,
            f"SELECT NULL::bigint, {_COLUMNS} FROM {self.schema}.events WHERE stream_id = ANY($1::text[]) "
            f"ORDER BY stream_id, stream_version",
            list(stream_ids),
        )
        streams: dict[str, list[Envelope]] = {}
        for r in rows:
            env = self._envelope(r)
            streams.setdefault(env.stream_id, []).append(env)
        return streams

    async def read_all(
        self, conn: Conn, after_position: int = 0, limit: int = 1000
    ) -> list[Envelope]:
        """Committed events with a global position above `after_position`, in position order."""
        rows = await fetch(conn, self._by_position_sql, after_position, limit)
        return [self._envelope(r) for r in rows]

    async def assign_positions(self, conn: Conn, limit: int = 10_000) -> int:
        """Number the committed, unnumbered events; best outside a transaction (it is one).

        Waits for another sequencer at most a lease, then raises (LockNotAvailableError): the
        caller tries again later rather than queueing behind a holder that hangs.
        """
        return await execute(conn, f"{self._sequencer_lock_sql}; {self._sequence_sql.format(limit=int(limit))}")

    async def head(self, conn: Conn) -> int:
        rows = await fetch(conn, f"SELECT coalesce(max(position), 0) FROM {self.schema}.event_positions")
        return int(rows[0][0])

    def _envelope(self, row: Any) -> Envelope:
        position, event_id, stream_id, version, type_, subject, time, corr, cause, data, personal, trace = row
        return Envelope.stored(str(event_id), self.source, type_, subject, time, stream_id, version, corr, cause,
                               from_jsonb(data), position, tuple(personal or ()), trace)
