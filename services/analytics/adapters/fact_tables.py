"""One version of the fact tables, in a PostgreSQL schema of its own (`<schema>_v<N>`).

Blue-green rebuilds build a new version beside the live one; reports read whichever is live.
Rows are written as whole facts: copied into a temporary table, then swapped in (delete + insert),
which is the fastest upsert for batches of wide rows; facts the caller knows to be new are copied
straight in. Each row carries the archive position of
the last event folded into it, so a reader can fetch just what changed since it last looked.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from services.analytics.domain.facts import FIELDS, RequestFact
from services.analytics.domain.folds import DIMENSIONS
from services.analytics.domain.measures import MEASURES, measures
from services.analytics.domain.records import FEEDBACK_FIELDS, RESOURCE_FIELDS, FeedbackFact, ResourceFact
from shared.db import Conn, execute, fetch, ident

_TYPES = {"datetime": "timestamptz", "bool": "boolean", "int": "integer", "float": "double precision",
          "list[str]": "text[]", "str": "text"}
_MEASURE_TYPES = {"ended_at": "timestamptz", "handoffs": "integer", "ping_pongs": "integer", "fcr": "boolean"}


def _sql_type(annotation: str) -> str:
    base = annotation.replace(" | None", "")
    return _TYPES[base]


@dataclass(frozen=True, eq=False)  # hashed by identity: it keys the projector's hot caches
class Table:
    name: str
    key: str
    model: type
    columns: tuple[tuple[str, str], ...]
    to_row: Callable[[Any], tuple[Any, ...]]
    from_row: Callable[[Any], Any]
    indexes: tuple[str, ...] = ()


def _plain(model: type, names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((n, _sql_type(model.__annotations__[n])) for n in names)


_REQUEST_BASE = [n for n in FIELDS if n != "dimensions"]
_REQUEST_COLUMNS = (
    _plain(RequestFact, _REQUEST_BASE)
    + tuple((f"dim_{d}", "integer") for d in DIMENSIONS)
    + tuple((m, _MEASURE_TYPES.get(m, "double precision")) for m in MEASURES)
)


def _request_row(f: RequestFact) -> tuple[Any, ...]:
    m = measures(f)
    return (*(getattr(f, n) for n in _REQUEST_BASE), *(f.dimensions.get(d) for d in DIMENSIONS),
            *(m[k] for k in MEASURES))


def _request_from(row: Any) -> RequestFact:
    f = RequestFact(**{n: row[n] for n in _REQUEST_BASE})
    f.path = list(f.path or ())
    f.dimensions = {d: row[f"dim_{d}"] for d in DIMENSIONS if row[f"dim_{d}"] is not None}
    return f


def _simple(model: type, names: Sequence[str]) -> tuple[Callable[[Any], tuple[Any, ...]], Callable[[Any], Any]]:
    return (lambda o: tuple(getattr(o, n) for n in names)), (lambda row: model(**{n: row[n] for n in names}))


REQUESTS = Table("request_facts", "request_id", RequestFact, _REQUEST_COLUMNS, _request_row, _request_from, (
    "CREATE INDEX ON {t} (received_at)",
    "CREATE INDEX ON {t} USING gist (tstzrange(received_at, ended_at, '[)'))",
    "CREATE INDEX ON {t} (resolver_id)",
    "CREATE INDEX ON {t} (survey_returned_at) WHERE survey_returned_at IS NOT NULL",
))
FEEDBACK = Table("feedback_facts", "feedback_id", FeedbackFact, _plain(FeedbackFact, FEEDBACK_FIELDS),
                 *_simple(FeedbackFact, FEEDBACK_FIELDS), ("CREATE INDEX ON {t} (received_at)",))
RESOURCES = Table("resource_facts", "resource_id", ResourceFact, _plain(ResourceFact, RESOURCE_FIELDS),
                  *_simple(ResourceFact, RESOURCE_FIELDS), ("CREATE INDEX ON {t} (team)",))
TABLES = (REQUESTS, FEEDBACK, RESOURCES)


class FactTables:
    """The tables of one read-model version. Every method runs on the caller's connection."""

    def __init__(self, schema: str, version: int) -> None:
        self.version = version
        self.schema = ident(f"{schema}_v{version}")

    def of(self, table: Table) -> str:
        return f"{self.schema}.{table.name}"

    async def create(self, conn: Conn) -> None:
        await execute(conn, f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
        for t in TABLES:
            columns = ", ".join(f"{n} {sql}" for n, sql in t.columns)
            await execute(conn, f"CREATE TABLE IF NOT EXISTS {self.of(t)} "
                                f"({columns}, position bigint NOT NULL, PRIMARY KEY ({t.key}))")
            await execute(conn, f"CREATE INDEX IF NOT EXISTS {t.name}_position_idx ON {self.of(t)} (position)")
            for index in t.indexes:
                await execute(conn, index.format(t=self.of(t)))

    async def drop(self, conn: Conn) -> None:
        await execute(conn, f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    async def load(self, conn: Conn, table: Table, keys: Iterable[str]) -> list[Any]:
        rows = await fetch(conn, f"SELECT * FROM {self.of(table)} WHERE {table.key} = ANY($1::text[])", list(keys))
        return [table.from_row(r) for r in rows]

    async def save(self, conn: Conn, table: Table, objects: Sequence[tuple[Any, int]],
                   new: Sequence[tuple[Any, int]] = ()) -> None:
        """Write whole facts, each with the position of the last event folded into it: `objects`
        over whatever the table holds of them, `new` ones (the caller knows the table has no row
        for them) copied straight in."""
        columns = [*(n for n, _ in table.columns), "position"]
        if new:
            await conn.copy_records_to_table(table.name, schema_name=self.schema, columns=columns,
                                             records=[(*table.to_row(o), p) for o, p in new])
        if not objects:
            return
        staging = f"staging_{table.name}_v{self.version}"
        await execute(conn, f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
                            f"(LIKE {self.of(table)} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        await conn.copy_records_to_table(staging, records=[(*table.to_row(o), p) for o, p in objects], columns=columns)
        await execute(conn, f"DELETE FROM {self.of(table)} t USING {staging} s WHERE t.{table.key} = s.{table.key}")
        await execute(conn, f"INSERT INTO {self.of(table)} SELECT * FROM {staging}")
        await execute(conn, f"TRUNCATE {staging}")

    async def checksum(self, conn: Conn) -> str:
        """One digest of every row of every table: equal checksums, equal read models."""
        digest = hashlib.sha256()
        for t in TABLES:
            rows = await fetch(conn, f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x.{t.key}), '')) "
                                     f"FROM {self.of(t)} x")
            digest.update(f"{t.name}:{rows[0][0]};".encode())
        return digest.hexdigest()
