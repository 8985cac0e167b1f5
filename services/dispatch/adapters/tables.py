"""Dispatch's working tables, written in the same transaction as the events they follow.

`resources.load` is what enforces capacity: a slot is taken by a conditional update on the
resource's row (so concurrent allocators queue on its lock) and a CHECK refuses anything over.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

import orjson

from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import Resource
from shared.db import Conn, execute, execute_each, fetch, from_jsonb, ident
from shared.errors import InvalidTransition

RESOURCE_COLUMNS = "id, name, kind, skills, capacity, zone, shift, status, until, load"
JOB_COLUMNS = ("request_id, status, priority, required_skills, zone, resource_id, pending_resource_id, "
               "declined_by, escalation, received_at, respond_by, resolve_by, opened_at, updated_at")


class CapacityExceeded(InvalidTransition):
    pass


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


class DispatchTables:
    def __init__(self, schema: str) -> None:
        self.s = ident(schema)

    async def save_resource(self, conn: Conn, r: Resource) -> None:
        await self.save_resources(conn, [r])

    async def save_resources(self, conn: Conn, resources: Sequence[Resource]) -> None:
        """Resources' rows (their load aside: allocations move it), in one pipelined statement."""
        await execute_each(conn, (
            f"INSERT INTO {self.s}.resources (id, name, kind, skills, capacity, zone, shift, status, until) "
            f"VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8, $9) ON CONFLICT (id) DO UPDATE SET "
            f"name = EXCLUDED.name, kind = EXCLUDED.kind, skills = EXCLUDED.skills, capacity = EXCLUDED.capacity, "
            f"zone = EXCLUDED.zone, shift = EXCLUDED.shift, status = EXCLUDED.status, until = EXCLUDED.until"),
            [(r.id, r.name, r.kind, _json(r.skills), r.capacity, r.zone,
              _json(r.shift.to_spec() if r.shift else None), r.status, r.until) for r in resources])

    async def resource_rows(self, conn: Conn, where: str = "", *params: Any) -> list[dict[str, Any]]:
        rows = await fetch(conn, f"SELECT {RESOURCE_COLUMNS} FROM {self.s}.resources {where}", *params)
        return [{**dict(r), "skills": from_jsonb(r["skills"]), "shift": from_jsonb(r["shift"])} for r in rows]

    async def shortlist(self, conn: Conn, skills: Sequence[str], excluded: Sequence[str], zone: str | None,
                        weights: tuple[float, float, float], now: datetime, limit: int, offset: int
                        ) -> list[dict[str, Any]]:
        """Resources that may take the job, best first by the allocation score computed here.

        The same formula as `allocation.score` (a test holds them together), so that only a few
        rows travel and get scored exactly in Python; shifts are checked there too.
        """
        skill_weight, load_weight, zone_weight = weights
        return await self.resource_rows(
            conn,
            "WHERE kind <> 'partner' AND status <> 'off_duty' AND load < capacity AND skills ?& $1::text[] "
            "AND NOT (id = ANY($2::text[])) AND NOT (status = 'on_leave' AND (until IS NULL OR until > $3)) "
            "ORDER BY ($4::float8 * CASE WHEN cardinality($1::text[]) = 0 THEN 1.0 ELSE "
            "(SELECT sum((skills ->> s)::int) FROM unnest($1::text[]) AS s)::float8 / (5 * cardinality($1::text[])) END"
            " + $5::float8 * (1 - load::float8 / capacity)"
            " + CASE WHEN $6::text IS NOT NULL AND zone = $6 THEN $7::float8 ELSE 0 END) DESC, load, id "
            "LIMIT $8 OFFSET $9",
            list(skills), list(excluded), now, skill_weight, load_weight, zone, zone_weight, limit, offset)

    async def load_of(self, conn: Conn, resource_id: str) -> int:
        rows = await fetch(conn, f"SELECT load FROM {self.s}.resources WHERE id = $1", resource_id)
        return int(rows[0][0]) if rows else 0

    async def reserve(self, conn: Conn, resource_id: str) -> bool:
        """Take one slot of the resource if it has one (waits for the row's lock)."""
        return await execute(conn, f"UPDATE {self.s}.resources SET load = load + 1 "
                                   f"WHERE id = $1 AND load < capacity", resource_id) == 1

    async def release(self, conn: Conn, resource_id: str) -> None:
        await execute(conn, f"UPDATE {self.s}.resources SET load = load - 1 WHERE id = $1", resource_id)

    async def move_load(self, conn: Conn, before: str | None, after: str | None, reserved: str | None) -> None:
        if before == after:
            return
        if before is not None:
            await self.release(conn, before)
        if after is not None and after != reserved and not await self.reserve(conn, after):
            raise CapacityExceeded(f"resource {after} has no free capacity")

    async def lock_timers(self, conn: Conn, request_id: str) -> None:
        """Lock the job's timer rows. The SLA scheduler locks them before it appends to the job's
        stream; a writer appending first and deleting them after would wait for it while it waits
        on the append: a deadlock. Taken first by every writer, they make the two queue instead."""
        await fetch(conn, f"SELECT 1 FROM {self.s}.sla_timers WHERE request_id = $1 FOR UPDATE", request_id)

    async def save_job(self, conn: Conn, job: Job, timers: dict[str, datetime]) -> None:
        await self.save_jobs(conn, [(job, timers)])

    async def save_jobs(self, conn: Conn, jobs: Sequence[tuple[Job, dict[str, datetime]]]) -> None:
        """Jobs' rows, and their SLA timers in place of those they had. `updated_at`: when a job's
        latest events were recorded (the same rebuilt as live)."""
        if not jobs:
            return
        await execute_each(conn, (
            f"INSERT INTO {self.s}.jobs ({JOB_COLUMNS}, priority_rank) VALUES "
            f"($1, $2, $3, $4::text[], $5, $6, $7, $8::text[], $9, $10, $11, $12, $13, $14, $15) "
            f"ON CONFLICT (request_id) DO UPDATE SET status = EXCLUDED.status, resource_id = EXCLUDED.resource_id, "
            f"priority = EXCLUDED.priority, priority_rank = EXCLUDED.priority_rank, "
            f"required_skills = EXCLUDED.required_skills, zone = EXCLUDED.zone, "
            f"respond_by = EXCLUDED.respond_by, resolve_by = EXCLUDED.resolve_by, "
            f"pending_resource_id = EXCLUDED.pending_resource_id, declined_by = EXCLUDED.declined_by, "
            f"escalation = EXCLUDED.escalation, updated_at = EXCLUDED.updated_at"),
            [_job_row(job) for job, _ in jobs])
        await execute(conn, f"DELETE FROM {self.s}.sla_timers WHERE request_id = ANY($1::text[])",
                      [job.request_id for job, _ in jobs])
        due = [(job.request_id, timer, at) for job, timers in jobs for timer, at in timers.items()]
        if due:
            await execute(conn, f"INSERT INTO {self.s}.sla_timers (request_id, timer, due_at) "
                                f"SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])",
                          *(list(column) for column in zip(*due, strict=True)))

    async def job_rows(self, conn: Conn, where: str, *params: Any) -> list[dict[str, Any]]:
        rows = await fetch(conn, f"SELECT {JOB_COLUMNS} FROM {self.s}.jobs {where}", *params)
        return [dict(r) for r in rows]

    async def open_job_ids(self, conn: Conn, limit: int) -> list[str]:
        rows = await fetch(conn, f"SELECT request_id FROM {self.s}.jobs WHERE status = 'open' "
                                 f"ORDER BY priority_rank, respond_by, request_id LIMIT $1", limit)
        return [r[0] for r in rows]

    async def due_timers(self, conn: Conn, now: datetime, limit: int) -> list[tuple[str, str, datetime]]:
        """Timers due by `now` (request, timer, when due), locked so that another replica skips them
        rather than firing twice."""
        rows = await fetch(conn, f"SELECT request_id, timer, due_at FROM {self.s}.sla_timers WHERE due_at <= $1 "
                                 f"ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED", now, limit)
        return [(r[0], r[1], r[2]) for r in rows]


def _job_row(job: Job) -> tuple[Any, ...]:
    o = job.opened
    assert o is not None
    return (job.request_id, job.status, job.priority, list(job.terms.required_skills), job.terms.zone, job.resource_id,
            job.pending_resource, sorted(job.declined_by), job.escalation, o.received_at, job.respond_by,
            job.resolve_by, o.opened_at, job.changed_at, int(job.priority[1]))
