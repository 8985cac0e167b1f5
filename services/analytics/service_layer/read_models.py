"""Keeps the live read model current and rebuilds new versions beside it without downtime.

A rebuild is a new version folded from position 0 of the archive while the live one goes on
serving. Once its checkpoint reaches the archive's head it becomes live in one transaction; the
old version is dropped after a grace period, so a report already reading it can finish.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from services.analytics.adapters.archive import Archive
from services.analytics.adapters.fact_tables import FactTables
from services.analytics.adapters.versions import Version, Versions
from services.analytics.service_layer.projector import FactProjector
from shared.clock import Clock
from shared.db import Database
from shared.eventstore import EventStore
from shared.follower import Follower

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Tuning:
    batch_size: int = 5000
    flush_every: int = 100_000
    poll_seconds: float = 0.25
    grace_seconds: float = 60.0


class ReadModels(Follower):
    def __init__(self, db: Database, store: EventStore, clock: Clock, tuning: Tuning = Tuning()) -> None:
        super().__init__(tuning.batch_size, tuning.poll_seconds, 0.0)
        self.db, self.store, self.clock, self.tuning = db, store, clock, tuning
        self.schema = store.schema
        self.archive, self.versions = Archive(store.schema), Versions(store.schema)
        self.projectors: dict[int, FactProjector] = {}

    def tables(self, version: int) -> FactTables:
        return FactTables(self.schema, version)

    async def request_rebuild(self, by: str) -> int:
        """Start building a new version beside the live one; returns its number."""
        async with self.db.begin() as conn:
            await self.versions.lock(conn)
            version = await self.versions.add(conn, "building", by, self.clock.now())
            await self.tables(version).create(conn)
        log.info("read model rebuild requested", version=version, by=by)
        self.wake()
        return version

    async def run_once(self) -> int:
        async with self.db.begin() as conn:
            await self.store.assign_positions(conn)
        async with self.db.begin() as conn:
            active = await self.versions.all(conn, "live", "building")
        if not any(v.status == "live" for v in active):
            await self._first_version()
            return 0
        done = 0
        for v in active:
            done = max(done, await self.projector(v.version).run_once())
            if v.status == "building":
                await self._switch_if_caught_up(v.version)
        await self._drop_retired()
        return done

    def projector(self, version: int) -> FactProjector:
        if version not in self.projectors:
            t = self.tuning
            self.projectors[version] = FactProjector(self.db, self.archive, self.tables(version),
                                                     batch_size=t.batch_size, flush_every=t.flush_every,
                                                     lease=self.store.lease)
        return self.projectors[version]

    async def _first_version(self) -> None:
        async with self.db.begin() as conn:
            await self.versions.lock(conn)
            if await self.versions.live(conn) is None:
                version = await self.versions.add(conn, "live", "system", self.clock.now())
                await self.tables(version).create(conn)

    async def _switch_if_caught_up(self, version: int) -> None:
        async with self.db.begin() as conn:
            await self.versions.lock(conn)
            position = await self.projector(version).checkpoint.read(conn)
            if position < await self.store.head(conn):
                return
            if await self.versions.switch(conn, version, self.clock.now()):
                log.info("read model switched", version=version, position=position)

    async def _drop_retired(self) -> None:
        cutoff = self.clock.now() - timedelta(seconds=self.tuning.grace_seconds)
        async with self.db.begin() as conn:
            await self.versions.lock(conn)
            for v in await self.versions.all(conn, "retired"):
                if v.retired_at is not None and v.retired_at <= cutoff:
                    await self.tables(v.version).drop(conn)
                    await self.projector(v.version).checkpoint.forget(conn)
                    await self.versions.mark_dropped(conn, v.version)
                    self.projectors.pop(v.version, None)

    async def progress(self) -> list[dict[str, object]]:
        """Every version with how far it has folded the archive."""
        async with self.db.connect() as conn:
            head = await self.store.head(conn)
            out = []
            for v in await self.versions.all(conn):
                position = await self.projector(v.version).checkpoint.read(conn) if v.status != "dropped" else None
                skipped = self.projectors[v.version].skipped if v.version in self.projectors else 0
                out.append({**v.__dict__, "position": position, "head": head, "skipped_here": skipped,
                            "progress": None if position is None else (position / head if head else 1.0),
                            "events_per_second": _rate(v, position, self.clock.now())})
            return out

    async def checksum(self, version: int) -> dict[str, object] | None:
        """A digest of every row of a version that still has tables; None for any other."""
        async with self.db.connect() as conn:
            status = {v.version: v.status for v in await self.versions.all(conn)}.get(version)
            if status not in ("building", "live", "retired"):
                return None
            try:
                position = await self.projector(version).checkpoint.read(conn)
                digest = await self.tables(version).checksum(conn)
            except asyncpg.UndefinedTableError:  # dropped (retired, or a rebuild given up) since it was listed
                return None
        return {"version": version, "status": status, "position": position, "checksum": digest}


def _rate(v: Version, position: int | None, now: datetime) -> float | None:
    """A building version's average folding speed so far."""
    seconds = (now - v.created_at).total_seconds()
    if position is None or v.status != "building" or seconds <= 0:
        return None
    return round(position / seconds, 1)
