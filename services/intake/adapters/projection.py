"""Folds intake's own events into the requests read model (run by ProjectionRunner, and by
`servicetrail projections rebuild intake requests`).

A batch is folded in memory (`request_rows.fold_rows`): the rows its events touch are read in one
statement, changed as dicts, and the rows changed written back in one pipelined upsert. A rebuild
folds into `RebuildingRequests` instead, which keeps its rows between batches."""
from __future__ import annotations

from typing import Any, Sequence

from services.intake.adapters.request_rows import COLUMNS, TOUCHING, Row, fold_rows
from shared.db import Conn, execute, fetch, ident
from shared.envelope import Envelope

# A rebuild keeps at most this many rows in memory (about 2 kB each), and writes what it changed
# once this many are waiting.
CACHE_ROWS, FLUSH_ROWS = 250_000, 50_000


class RequestsProjection:
    name = "requests"
    tables = ("requests",)

    def __init__(self, schema: str) -> None:
        self.schema, self.s = schema, ident(schema)

    def on_schema(self, schema: str) -> "RebuildingRequests":
        return RebuildingRequests(schema)

    async def apply(self, conn: Conn, env: Envelope) -> None:
        await self.apply_batch(conn, [env])

    async def apply_batch(self, conn: Conn, events: list[Envelope]) -> None:
        """`events` folded in order; the rows as one event at a time would leave them."""
        at = 0
        for i, env in enumerate(events):
            if env.name == "CustomerErased":  # it marks rows beyond the batch's: what came before first
                await self._fold(conn, events[at:i])
                await self._erased(conn, env.data["customer_id"])
                at = i + 1
        await self._fold(conn, events[at:])

    async def _fold(self, conn: Conn, events: Sequence[Envelope]) -> None:
        if not events:
            return
        # Every row the batch touches is read first, a new one's too: a replay may receive again a
        # request already there (then what it holds beyond the submission stays, as an upsert's).
        touched = list({e.data["request_id"] for e in events if e.name in TOUCHING})
        await self._write(conn, fold_rows(await self._rows(conn, touched), events))

    async def _rows(self, conn: Conn, ids: list[str]) -> dict[str, Row]:
        # Joined to the ids rather than `id = ANY(...)`: that statement's plan, kept by a pooled
        # connection from an earlier rebuild, did not fit the next rebuild's new, growing table
        # (the second rebuild in a process read rows 45 times slower and ran at half the speed).
        found = await fetch(conn, f"SELECT {', '.join(COLUMNS)} FROM unnest($1::text[]) AS t(id) "
                                  f"JOIN {self.s}.requests USING (id)", ids) if ids else []
        return {r["id"]: dict(r) for r in found}

    async def _erased(self, conn: Conn, customer_id: str) -> None:
        await execute(conn, f"UPDATE {self.s}.requests SET customer_erased = true WHERE customer_id = $1", customer_id)

    async def _write(self, conn: Conn, rows: dict[str, Row]) -> None:
        # Rows of one shape go in one pipelined statement; a new row lacks the columns it has not
        # yet been given, which keep their defaults.
        for columns, values in _by_shape(rows.values()).items():
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "id")
            await conn.executemany(
                f"INSERT INTO {self.s}.requests ({', '.join(columns)}) "
                f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))}) "
                f"ON CONFLICT (id) DO UPDATE SET {updates}", values)


class RebuildingRequests(RequestsProjection):
    """The requests read model folded from the first event into empty tables (a rebuild's). Every
    row folded is kept in memory, so a batch reads none back while all are there, and rows are
    written when many are waiting, new ones by COPY: the table is written about once per request,
    not once per batch that touched it. `flush` writes what is waiting (the rebuild calls it before
    the switch). Past `cache_rows`, the rows kept are dropped and read back as needed."""

    def __init__(self, schema: str, cache_rows: int = CACHE_ROWS, flush_rows: int = FLUSH_ROWS) -> None:
        super().__init__(schema)
        self.cache_rows, self.flush_rows = cache_rows, flush_rows
        self._rows_kept: dict[str, Row] = {}
        self._complete = True  # the rows kept are every row there is
        self._written: set[str] = set()  # of the rows kept, those in the table
        self._waiting: dict[str, Row] = {}

    async def _rows(self, conn: Conn, ids: list[str]) -> dict[str, Row]:
        if not self._complete and (missing := [i for i in ids if i not in self._rows_kept]):
            found = await super()._rows(conn, missing)
            self._rows_kept |= found
            self._written |= found.keys()
        return self._rows_kept  # fold_rows adds a received request's new row here

    async def _write(self, conn: Conn, rows: dict[str, Row]) -> None:
        self._waiting |= rows
        if len(self._waiting) >= self.flush_rows:
            await self.flush(conn)
        if len(self._rows_kept) > self.cache_rows:
            await self.flush(conn)
            self._rows_kept, self._written, self._complete = {}, set(), False

    async def _erased(self, conn: Conn, customer_id: str) -> None:
        await self.flush(conn)
        await super()._erased(conn, customer_id)
        for row in self._rows_kept.values():
            if row["customer_id"] == customer_id:
                row["customer_erased"] = True

    async def flush(self, conn: Conn) -> None:
        """Writes every row changed since the last flush."""
        waiting, self._waiting = self._waiting, {}
        new = [row for request_id, row in waiting.items() if request_id not in self._written]
        for columns, values in _by_shape(new).items():
            await conn.copy_records_to_table("requests", schema_name=self.schema, columns=columns, records=values)
        await super()._write(conn, {i: row for i, row in waiting.items() if i in self._written})
        self._written |= waiting.keys()


def _by_shape(rows: Any) -> dict[tuple[str, ...], list[tuple[Any, ...]]]:
    shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(tuple(row.values()))
    return shapes

