"""Dispatch's working tables (jobs, resources with their load, SLA timers) written anew from its
streams: `servicetrail projections rebuild dispatch tables` (shared/ops/rebuild_streams.py)."""
from __future__ import annotations

from services.dispatch.adapters.tables import DispatchTables
from services.dispatch.adapters.unit_of_work import DispatchStreams
from shared.db import Conn, execute
from shared.ops.rebuild_streams import by_kind


class DispatchTablesRebuild:
    name = "tables"
    tables = ("jobs", "resources", "sla_timers")
    prefixes = ("job-", "resource-")

    def __init__(self, streams: DispatchStreams, schema: str, warning_share: float) -> None:
        self.streams, self.schema, self.warning_share = streams, schema, warning_share
        self.rows = DispatchTables(schema)
        self._holders: dict[str, str | None] = {}  # each job's holder, for the resources' load

    def on_schema(self, schema: str) -> DispatchTablesRebuild:
        return DispatchTablesRebuild(self.streams, schema, self.warning_share)

    async def rewrite(self, conn: Conn, stream_ids: list[str]) -> None:
        kinds = by_kind(stream_ids)
        resources = await self.streams.resources.get_many(conn, kinds.get("resource", []))
        await self.rows.save_resources(conn, list(resources.values()))
        jobs = [j for j in (await self.streams.jobs.get_many(conn, kinds.get("job", []))).values() if j.opened is not None]
        await self.rows.save_jobs(conn, [(job, job.timers(self.warning_share)) for job in jobs])
        self._holders |= {job.request_id: job.holder for job in jobs}

    async def finish(self, conn: Conn) -> None:
        """A resource's load is the number of jobs it holds (live, each allocation moves it by one)."""
        loads: dict[str, int] = {}
        for holder in self._holders.values():
            if holder is not None:
                loads[holder] = loads.get(holder, 0) + 1
        await execute(conn, f"UPDATE {self.schema}.resources AS r SET load = x.load "
                            f"FROM unnest($1::text[], $2::int[]) AS x(id, load) WHERE r.id = x.id",
                      list(loads), list(loads.values()))
