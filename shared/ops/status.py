"""One look at a whole deployment: each service's health, readiness (with reasons) and version,
its event store's head against its relay and projections, its consumer's lag and dead letters."""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from asyncpg.exceptions import UndefinedTableError

from shared.db import Database, fetch, ident, is_unavailable
from shared.eventstore.store import EventStore
from shared.ops.dlq import DeadLetters
from shared.ops.lag import consumer_lag
from shared.settings import Settings

RELAY = "relay"  # the relay's checkpoint; every other one is a projection's


@dataclass
class ServiceStatus:
    service: str
    url: str
    health: str = "unreachable"
    version: str | None = None
    ready: str = "unreachable"
    reasons: dict[str, Any] = field(default_factory=dict)
    store_head: int | None = None  # the highest global position in its event store
    relay: int | None = None
    projections: dict[str, int] = field(default_factory=dict)
    lag: int | None = None  # its consumer group's, records behind over every partition
    dead_letters: int | None = None  # pending

    @property
    def relay_behind(self) -> int | None:
        return None if self.store_head is None or self.relay is None else max(self.store_head - self.relay, 0)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "relay_behind": self.relay_behind}


async def probe_http(status: ServiceStatus, client: httpx.AsyncClient) -> None:
    try:
        health = (await client.get(f"{status.url}/healthz")).json()
        status.health, status.version = health.get("status", "?"), health.get("version")
        ready = await client.get(f"{status.url}/readyz")
        body = ready.json()
        status.ready = body.get("status", str(ready.status_code))
        status.reasons = {**{k: "down" for k, ok in body.get("checks", {}).items() if not ok}, **body.get("reasons", {})}
    except (httpx.HTTPError, ValueError) as exc:
        status.reasons = {"http": f"{type(exc).__name__}: {exc}"}


async def probe_store(status: ServiceStatus, db: Database, schema: str) -> None:
    try:
        async with db.connect() as conn:
            head = await EventStore(schema, status.service).head(conn)
            checkpoints = await fetch(conn, f"SELECT name, position FROM {ident(schema)}.checkpoints ORDER BY name")
    except Exception as exc:
        if not is_unavailable(exc) and not isinstance(exc, UndefinedTableError):  # a service not deployed here
            raise
        status.reasons.setdefault("store", f"cannot be read: {exc}")
        return
    status.store_head = head
    positions = {name: int(position) for name, position in checkpoints}
    status.relay = positions.pop(RELAY, None)  # None: a service that publishes nothing (analytics)
    status.projections = positions


async def deployment_status(settings: Settings, services: dict[str, str], schemas: dict[str, str],
                            groups: dict[str, str]) -> list[ServiceStatus]:
    """`services`: name → base URL; `schemas`: name → its database schema; `groups`: name → its
    consumer group. The database and broker are those of `settings` (one deployment's)."""
    statuses = [ServiceStatus(name, url) for name, url in services.items()]
    async with httpx.AsyncClient(timeout=3) as client:
        await asyncio.gather(*(probe_http(s, client) for s in statuses))
    if settings.database_url:
        db = Database(settings.database_url, 2, "servicetrail-status")
        try:
            for s in statuses:
                await probe_store(s, db, schemas[s.service])
            letters = await DeadLetters(settings, db).list()
        finally:
            await db.dispose()
        for s in statuses:
            s.dead_letters = sum(d.consumer == groups[s.service] for d in letters)
    behind: dict[str, int] = {}
    for row in await consumer_lag(settings):
        behind[row.group] = behind.get(row.group, 0) + row.lag
    for s in statuses:
        s.lag = behind.get(groups[s.service], 0)  # a group with no partition to read is behind by nothing
    return statuses
