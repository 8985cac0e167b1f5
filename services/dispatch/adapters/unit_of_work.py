"""Dispatch's unit of work on PostgreSQL: jobs and resources in their streams, each with its
working rows in the same transaction; a job's capacity moves with its holder."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from services.dispatch.adapters.tables import DispatchTables
from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import Resource
from services.dispatch.service_layer.unit_of_work import DispatchUnitOfWork
from shared.aggregate import IdSource
from shared.clock import Clock
from shared.db import Conn, Database
from shared.postgres_unit_of_work import PostgresUnitOfWork, StreamRepository
from shared.repository import EventSourcedRepository


@dataclass(frozen=True)
class DispatchStreams:
    jobs: EventSourcedRepository[Job]
    resources: EventSourcedRepository[Resource]


class JobRepository(StreamRepository[Job]):
    """Jobs, remembering who held each when it was loaded: its save frees that resource's slot and
    takes the new holder's (unless the unit reserved it already)."""

    def __init__(self, unit: "PostgresDispatchUnitOfWork", conn: Conn) -> None:
        super().__init__(unit.streams.jobs, conn, unit.ids, self._rows)
        self.unit = unit
        self.held: dict[str, str | None] = {}

    async def _load(self, aggregate_id: str) -> Job | None:
        job = await super()._load(aggregate_id)
        if job is not None:
            self.held[aggregate_id] = job.holder
        return job

    async def _rows(self, conn: Conn, job: Job) -> None:
        # In the SLA scheduler's order (timer rows, then the stream): see DispatchTables.lock_timers.
        u = self.unit
        await u.tables.lock_timers(conn, job.request_id)
        before, after = self.held.get(job.request_id), job.holder
        reserved = after if after is not None and after in u.reserved else None
        await u.tables.move_load(conn, before, after, reserved)
        await u.tables.save_job(conn, job, job.timers(u.warning_share))
        self.held[job.request_id] = after
        if reserved is not None:
            u.reserved.discard(reserved)


class PostgresDispatchUnitOfWork(PostgresUnitOfWork, DispatchUnitOfWork):
    def __init__(self, streams: DispatchStreams, tables: DispatchTables, clock: Clock, warning_share: float,
                 schema: str, db: Database | None, ids: IdSource, conn: Conn | None = None) -> None:
        super().__init__(db, schema, ids, conn)
        self.streams, self.tables, self.clock, self.warning_share = streams, tables, clock, warning_share
        self.reserved: set[str] = set()

    def _open(self, conn: Conn) -> None:
        self.reserved = set()
        self.jobs = JobRepository(self, conn)
        self.resources = StreamRepository(self.streams.resources, conn, self.ids, self.tables.save_resource)

    async def shortlist(self, skills: Sequence[str], excluded: Sequence[str], zone: str | None,
                        weights: tuple[float, float, float], now: datetime, limit: int, offset: int
                        ) -> list[dict[str, Any]]:
        return await self.tables.shortlist(self.conn, skills, excluded, zone, weights, now, limit, offset)

    async def reserve(self, resource_id: str) -> bool:
        if not await self.tables.reserve(self.conn, resource_id):
            return False
        self.reserved.add(resource_id)
        return True

    async def resource_row(self, resource_id: str) -> dict[str, Any] | None:
        rows = await self.tables.resource_rows(self.conn, "WHERE id = $1", resource_id)
        return rows[0] if rows else None

    async def load_of(self, resource_id: str) -> int:
        return await self.tables.load_of(self.conn, resource_id)
