"""Dispatch's working tables (jobs, resources with their load, SLA timers) written anew from its
streams: `servicetrail projections rebuild dispatch tables` (shared/ops/rebuild_streams.py)."""
from __future__ import annotations

from services.dispatch.adapters.tables import DispatchTables
from services.dispatch.adapters.unit_of_work import DispatchStreams
from shared.db import Conn, execute


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
        for stream_id in stream_ids:
            kind, _, aggregate_id = stream_id.partition("-")
            if kind == "resource":
                resource = await self.streams.resources.get(conn, aggregate_id)
                if resource is not None:
                    await self.rows.save_resource(conn, resource)
                continue
            job = await self.streams.jobs.get(conn, aggregate_id)
            if job is not None and job.opened is not None:
                await self.rows.save_job(conn, job, job.timers(self.warning_share))
                self._holders[job.request_id] = job.holder

    async def finish(self, conn: Conn) -> None:
        """A resource's load is the number of jobs it holds (live, each allocation moves it by one)."""
        loads: dict[str, int] = {}
        for holder in self._holders.values():
            if holder is not None:
                loads[holder] = loads.get(holder, 0) + 1
        await execute(conn, f"UPDATE {self.schema}.resources AS r SET load = x.load "
                            f"FROM unnest($1::text[], $2::int[]) AS x(id, load) WHERE r.id = x.id",
                      list(loads), list(loads.values()))
