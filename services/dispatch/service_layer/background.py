"""Dispatch's background loops: allocating waiting jobs, and firing SLA timers exactly once."""
from __future__ import annotations

import structlog
from asyncpg.exceptions import DeadlockDetectedError

from services.dispatch.domain import commands as cmd
from services.dispatch.domain.batch import allocate_batch
from services.dispatch.service_layer.handlers import Dispatch, candidate, load_job, need
from shared.aggregate import IdSource
from shared.eventstore import ConcurrencyError
from shared.follower import Follower
from shared.metrics import SCHEDULER_DUE

log = structlog.get_logger(__name__)


class Allocator(Follower):
    """Gives waiting jobs to resources as slots free up: one by one, or optimally in a batch."""

    def __init__(self, d: Dispatch, batch_threshold: int = 10, poll_seconds: float = 1.0) -> None:
        super().__init__(batch_size=1_000_000, poll_seconds=poll_seconds, linger_seconds=0.01)
        self.d, self.batch_threshold = d, batch_threshold

    async def run_once(self) -> int:
        async with self.d.db.connect() as conn:
            waiting = await self.d.tables.open_job_ids(conn, 2000)
        if len(waiting) >= self.batch_threshold:
            return await self._batch(waiting)
        return sum([await self._one(request_id) for request_id in waiting])

    async def _one(self, request_id: str, resource_id: str | None = None, score: dict | None = None) -> int:
        try:
            async with self.d.db.begin() as conn:
                reserved = await self.d.bus.handle_in(self.d.unit_on(conn, IdSource()),
                                                      cmd.AllocateWaiting(request_id, resource_id, score))
                return 0 if reserved is None else 1
        except ConcurrencyError:
            return 0  # someone else changed the job meanwhile; the next round looks again

    async def _batch(self, waiting: list[str]) -> int:
        now = self.d.clock.now()
        async with self.d.db.connect() as conn:
            jobs = [await load_job(conn, self.d, r) for r in waiting]
            rows = await self.d.tables.resource_rows(conn, "WHERE load < capacity")
        plan = allocate_batch([need(j, now) for j in jobs], [candidate(r, now) for r in rows])
        return sum([await self._one(a.job_id, a.resource_id, a.score.breakdown()) for a in plan])


class SlaScheduler(Follower):
    """Fires due warnings, breaches and escalations: each due timer is a FireTimer command, run in
    a unit joined to this pass's transaction, which holds the timer rows locked (SKIP LOCKED) and
    rewrites them with the events, so each fires once across replicas and restarts."""

    def __init__(self, d: Dispatch, poll_seconds: float = 1.0, batch_size: int = 200) -> None:
        super().__init__(batch_size=batch_size, poll_seconds=poll_seconds, linger_seconds=0)
        self.d = d

    async def run_once(self) -> int:
        now = self.d.clock.now()
        try:
            async with self.d.db.begin() as conn:
                due = await self.d.tables.due_timers(conn, now, self.batch_size)
                SCHEDULER_DUE.labels(self.metric_schema, "sla").set(len(due))
                for request_id, timer, due_at in due:
                    # Ids from the firing: a pass that crashed before its commit repeats them.
                    ids = IdSource(f"sla:{request_id}:{timer}:{due_at.isoformat()}")
                    await self.d.bus.handle_in(self.d.unit_on(conn, ids), cmd.FireTimer(request_id, timer))
        except ConcurrencyError:
            return 0  # a command changed one of these jobs: the next round sees the new state
        except DeadlockDetectedError:
            # Another pass (a second replica, or a test's own) took another of the same job's due
            # timers (SKIP LOCKED), and each then waited for the other's rows: PostgreSQL ended this
            # one. Nothing was written; the next round fires what is still due.
            log.info("sla pass lost a deadlock to another; the next round fires it")
            return 0
        return len(due)
