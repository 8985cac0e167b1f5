"""One read model's rebuild at a time, from the command line or over HTTP, each one recorded (who
asked, when, how it went, the checksums before and after) in `<OPS_SCHEMA>.rebuilds`.

Only one rebuild runs at once in a service's schema, across every process: the one running holds a
PostgreSQL advisory lock for its whole length (on a connection of its own), and a second one is
refused (`RebuildUnderWay`, 409 over HTTP). A run whose process ended part way holds no lock any
more: the next one finds its row still `running` and marks it `stopped`.
"""
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator, Callable, Union

from shared.clock import Clock
from shared.db import Database, execute, fetch, ident
from shared.errors import InvalidTransition
from shared.eventstore import EventStore
from shared.ops.rebuild import Progress, Rebuilt, rebuild
from shared.ops.rebuild_streams import StreamTables, rebuild_tables
from shared.projector import Rebuildable

ReadModel = Union[Rebuildable, StreamTables]


class RebuildUnderWay(InvalidTransition):
    pass


def read_models(runtime: Any) -> dict[str, tuple[ReadModel, bool]]:
    """A service runtime's rebuildable read models by name, each with whether the commands write
    it (working tables) rather than a projection."""
    found: dict[str, tuple[ReadModel, bool]] = {
        p.name: (p, False) for p in runtime.projections if hasattr(p, "on_schema")}
    return found | {t.name: (t, True) for t in runtime.working_tables}


@dataclass(frozen=True)
class RebuildOutcome:
    id: int
    rebuilt: Rebuilt

    @property
    def differed(self) -> bool:
        """The replaced read model differed from the rebuilt one at the same events."""
        return self.rebuilt.was is not None and self.rebuilt.was != self.rebuilt.now


class RebuildRuns:
    def __init__(self, db: Database, ops_schema: str, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self.schema, self.table = ident(ops_schema), f"{ident(ops_schema)}.rebuilds"

    async def prepare(self) -> None:
        async with self.db.begin() as conn:
            await execute(conn, "SELECT pg_advisory_xact_lock(hashtext('servicetrail-ops-rebuilds'))")
            await execute(conn, f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            await execute(conn, f"""CREATE TABLE IF NOT EXISTS {self.table} (
                id bigserial PRIMARY KEY, service text NOT NULL, schema text NOT NULL, read_model text NOT NULL,
                requested_by text NOT NULL, via text NOT NULL,
                status text NOT NULL CHECK (status IN ('running', 'done', 'failed', 'stopped')),
                started_at timestamptz NOT NULL, finished_at timestamptz, events bigint, position bigint,
                seconds double precision, checksum text, was_checksum text, error text)""")

    async def latest(self, schema: str) -> dict[str, dict[str, Any]]:
        """Each read model's latest rebuild in the service schema `schema`, by name."""
        async with self.db.connect() as conn:
            if (await fetch(conn, "SELECT to_regclass($1)", self.table))[0][0] is None:
                return {}
            rows = await fetch(conn, f"SELECT DISTINCT ON (read_model) * FROM {self.table} WHERE schema = $1 "
                                     f"ORDER BY read_model, id DESC", schema)
        return {r["read_model"]: _view(dict(r)) for r in rows}

    async def run(self, service: str, schema: str, store: EventStore, model: ReadModel, working: bool,
                  requested_by: str, via: str, progress: Progress = lambda done, total: None,
                  started: Callable[[int], None] = lambda run_id: None) -> RebuildOutcome:
        """Rebuild `model` (a working table set when `working`), recorded; RebuildUnderWay if one is.
        `started` is told the run's id once it holds the lock and is recorded."""
        async with self._exclusive(service, schema, model.name, requested_by, via) as run_id:
            started(run_id)
            try:
                done = await (rebuild_tables(self.db, store, schema, model, progress) if working  # type: ignore[arg-type]
                              else rebuild(self.db, store, schema, model, progress))  # type: ignore[arg-type]
            except asyncio.CancelledError:  # the service stopping: the live read model is as it was
                await self._end(run_id, "stopped", error="stopped with its process")
                raise
            except Exception as exc:
                await self._end(run_id, "failed", error=f"{type(exc).__name__}: {exc}"[:1000])
                raise
            await self._end(run_id, "done", events=done.events, position=done.position, seconds=done.seconds,
                            checksum=done.now, was_checksum=done.was)
            return RebuildOutcome(run_id, done)

    @contextlib.asynccontextmanager
    async def _exclusive(self, service: str, schema: str, name: str, by: str, via: str) -> AsyncIterator[int]:
        await self.prepare()
        # One rebuild per schema at a time: its read models share the shadow schema `<schema>_rebuild`.
        key = f"servicetrail-rebuild:{schema}"
        async with self.db.connect() as lock:
            if not (await fetch(lock, "SELECT pg_try_advisory_lock(hashtext($1))", key))[0][0]:
                raise RebuildUnderWay(f"a rebuild of one of {service}'s read models is under way; see GET /v1/read-models")
            try:
                async with self.db.begin() as conn:
                    await execute(conn, f"UPDATE {self.table} SET status = 'stopped', finished_at = $3, error = "
                                        f"'its process ended part way' WHERE schema = $1 AND read_model = $2 "
                                        f"AND status = 'running'", schema, name, self.clock.now())
                    rows = await fetch(conn, f"INSERT INTO {self.table} (service, schema, read_model, requested_by, "
                                             f"via, status, started_at) VALUES ($1, $2, $3, $4, $5, 'running', $6) "
                                             f"RETURNING id", service, schema, name, by, via, self.clock.now())
                yield int(rows[0][0])
            finally:
                await execute(lock, "SELECT pg_advisory_unlock(hashtext($1))", key)

    async def _end(self, run_id: int, status: str, **values: Any) -> None:
        names = list(values)
        sets = "".join(f", {n} = ${i + 4}" for i, n in enumerate(names))
        async with self.db.begin() as conn:
            await execute(conn, f"UPDATE {self.table} SET status = $2, finished_at = $3{sets} WHERE id = $1",
                          run_id, status, self.clock.now(), *values.values())


def _view(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("service", "schema"):
        row.pop(key, None)
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}

