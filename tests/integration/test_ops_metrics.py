"""The metrics an operator watches beside `servicetrail status`: how far each relay and projection
is behind its store, a scheduler's due timers, connections in use."""
from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY

from services.dispatch.service_layer.background import SlaScheduler
from shared.checkpoint import Checkpoint
from shared.clock import FrozenClock
from shared.db import Conn, Database
from shared.envelope import Envelope
from shared.eventstore import EventStore
from shared.follower import PositionFollower
from tests.support.events import new_events

pytestmark = [pytest.mark.postgres]


class Counting(PositionFollower):
    def __init__(self, db: Database, store: EventStore, schema: str, batch_size: int) -> None:
        super().__init__(db, store, Checkpoint(schema, "counting"), batch_size=batch_size, poll_seconds=1,
                         linger_seconds=0)
        self.seen = 0

    async def handle(self, conn: Conn, events: list[Envelope]) -> None:
        self.seen += len(events)


def behind(schema: str, follower: str) -> float | None:
    return REGISTRY.get_sample_value("servicetrail_follower_behind", {"schema": schema, "follower": follower})


async def test_a_position_follower_reports_how_far_behind_its_store_it_is(db, store, schema):
    async with db.begin() as conn:
        await store.append(conn, "request-m", new_events(10, "m"), 0)
    follower = Counting(db, store, schema, batch_size=4)
    follower.track_stalls(FrozenClock(), 10, schema)
    for seen, left in ((4, 6), (8, 2), (10, 0), (10, 0)):
        await follower.run_once()
        assert (follower.seen, behind(schema, "counting")) == (seen, left)
    async with db.begin() as conn:
        await store.append(conn, "request-n", new_events(5, "n"), 0)
    await follower.run_once()
    assert (follower.seen, behind(schema, "counting")) == (14, 1)


async def test_pool_gauges_count_the_connections_checked_out(database_url):
    name = f"gauge-{uuid.uuid4().hex[:8]}"
    db = Database(database_url, 3, name)
    in_use = lambda: REGISTRY.get_sample_value("servicetrail_db_pool_in_use", {"pool": name})  # noqa: E731
    try:
        assert in_use() == 0 and REGISTRY.get_sample_value("servicetrail_db_pool_size", {"pool": name}) == 3
        async with db.connect(), db.connect() as second:
            assert in_use() == 2
            await second.execute("SELECT 1")
        assert in_use() == 0
    finally:
        await db.dispose()


class DueTables:
    def __init__(self, due: int) -> None:
        self.due = due

    async def due_timers(self, conn: Conn, now: object, limit: int) -> list[tuple[str, str, object]]:
        return [(f"r{i}", "response_warning", now) for i in range(min(self.due, limit))]


class Fired:
    def __init__(self) -> None:
        self.commands: list[object] = []

    async def handle_in(self, unit: object, command: object) -> None:
        self.commands.append(command)


async def test_the_sla_scheduler_reports_the_timers_it_found_due(db):
    fired = Fired()
    deps = SimpleNamespace(db=db, clock=FrozenClock(), tables=DueTables(3), bus=fired, unit_on=lambda conn, ids: None)
    scheduler = SlaScheduler(deps, batch_size=2)  # type: ignore[arg-type]
    scheduler.track_stalls(FrozenClock(), 10, "dispatch_metrics")
    due = lambda: REGISTRY.get_sample_value("servicetrail_scheduler_due_timers",  # noqa: E731
                                            {"schema": "dispatch_metrics", "scheduler": "sla"})
    assert await scheduler.run_once() == 2 and due() == 2 and len(fired.commands) == 2
    deps.tables.due = 0
    assert await scheduler.run_once() == 0 and due() == 0


def test_the_grafana_dashboard_asks_only_for_metrics_the_services_export():
    import json
    import re

    import services.dispatch.bootstrap  # noqa: F401  (every module that declares metrics)
    import shared.consumer  # noqa: F401
    import shared.http.app  # noqa: F401
    from tests.conftest import ROOT

    dashboard = json.loads((ROOT / "deploy" / "grafana" / "servicetrail.json").read_text())
    asked = {name for panel in dashboard["panels"] for target in panel["targets"]
             for name in re.findall(r"servicetrail_[a-z_]+", target["expr"])}
    exported = {family.name + suffix for family in REGISTRY.collect()
                for suffix in ("", "_total", "_count", "_sum", "_bucket")}
    assert len(dashboard["panels"]) >= 10 and asked and asked <= exported, asked - exported
