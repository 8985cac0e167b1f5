"""The fact projector and read-model versions on real PostgreSQL: crashes, takeovers, switches."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

import pytest

from services.analytics.adapters.archive import Archive
from services.analytics.adapters.fact_tables import FactTables, Table
from services.analytics.bootstrap import MIGRATIONS
from services.analytics.service_layer.projector import FactProjector
from services.analytics.service_layer.read_models import ReadModels, Tuning
from shared.clock import FrozenClock
from shared.db import Conn, Database, fetch
from shared.errors import InvalidTransition
from shared.eventstore import EventStore
from shared.migrations import migrate
from tests.support.events import new_event
from tests.support.generated import generate

START = datetime(2026, 2, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
async def archived(db: Database) -> tuple[str, int]:
    """A fresh analytics schema whose archive holds a generated history, positions assigned."""
    schema = f"a_{uuid.uuid4().hex[:10]}"
    await migrate(db.engine, MIGRATIONS, schema)
    history = generate(80, seed=5, start=START, resources=6, spread=timedelta(days=10))
    archive = Archive(schema)
    async with db.begin() as conn:
        for env in history.envelopes:
            await archive.record(conn, env)
    async with db.begin() as conn:
        await EventStore(schema, "analytics").assign_positions(conn)
    return schema, len(history.envelopes)


async def build(db: Database, projector: FactProjector) -> None:
    await _create(db, projector.tables)
    while await projector.run_once():
        pass


async def _create(db: Database, tables: FactTables) -> None:
    async with db.begin() as conn:
        await tables.create(conn)


async def digest(db: Database, tables: FactTables) -> str:
    async with db.connect() as conn:
        return await tables.checksum(conn)


class FailingOnce(FactTables):
    """Real tables whose third write fails once: a crash between fold and commit."""

    def __init__(self, schema: str, version: int) -> None:
        super().__init__(schema, version)
        self.saves, self.failed = 0, False

    async def save(self, conn: Conn, table: Table, objects: Sequence[Any], new: Sequence[Any] = ()) -> None:
        self.saves += 1
        if self.saves == 3 and not self.failed:
            self.failed = True
            raise RuntimeError("killed mid-batch")
        await super().save(conn, table, objects, new)


async def test_a_projector_killed_mid_batch_resumes_and_applies_every_event_once(db, archived):
    schema, _ = archived
    archive = Archive(schema)
    await build(db, FactProjector(db, archive, FactTables(schema, 1), batch_size=50, flush_every=50))
    failing = FailingOnce(schema, 2)
    projector = FactProjector(db, archive, failing, batch_size=50, flush_every=50)
    await _create(db, failing)
    with pytest.raises(RuntimeError):
        while await projector.run_once():
            pass
    assert projector.position is None  # the cache went with the failed transaction
    while await projector.run_once():
        pass
    assert failing.failed and await digest(db, failing) == await digest(db, FactTables(schema, 1))


async def test_two_replicas_taking_turns_on_one_version_fold_each_event_once(db, archived):
    schema, _ = archived
    archive = Archive(schema)
    await build(db, FactProjector(db, archive, FactTables(schema, 1), batch_size=500, flush_every=500))
    shared_tables = FactTables(schema, 2)
    await _create(db, shared_tables)
    replicas = [FactProjector(db, archive, shared_tables, batch_size=30, flush_every=30) for _ in range(2)]
    turn = 0
    while await replicas[turn % 2].run_once():
        turn += 1
    assert turn > 4
    assert await digest(db, shared_tables) == await digest(db, FactTables(schema, 1))


async def test_a_rebuild_switches_when_caught_up_and_drops_the_old_version_after_the_grace(db, archived):
    schema, events = archived
    clock = FrozenClock(START + timedelta(days=30))
    models = ReadModels(db, EventStore(schema, "analytics"), clock, Tuning(batch_size=100, grace_seconds=60))
    await models.run_once()  # the first version appears
    while await models.run_once():
        pass
    assert await models.request_rebuild("ops") == 2
    with pytest.raises(InvalidTransition):
        await models.request_rebuild("ops again")
    while await models.run_once():
        pass
    await models.run_once()
    status = {v["version"]: (v["status"], v["position"]) for v in await models.progress()}
    assert status == {1: ("retired", events), 2: ("live", events)}
    clock.advance(seconds=61)
    await models.run_once()
    assert {v["version"]: v["status"] for v in await models.progress()} == {1: "dropped", 2: "live"}
    async with db.connect() as conn:
        left = await fetch(conn, "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", f"{schema}_v1")
    assert not left


async def test_an_event_whose_data_does_not_fit_its_name_is_skipped_not_a_blocked_read_model(db, archived):
    schema, events = archived
    archive = Archive(schema)
    bad = dataclasses.replace(new_event("G5-0", "RequestTriaged", request_id="G5-0", priority="P1"),
                              stream_id="request-G5-0", stream_version=999)
    async with db.begin() as conn:
        await archive.record(conn, bad)
    async with db.begin() as conn:
        await EventStore(schema, "analytics").assign_positions(conn)
    projector = FactProjector(db, archive, FactTables(schema, 1), batch_size=40, flush_every=40)
    await build(db, projector)
    assert projector.skipped == 1 and projector.folded == events + 1
    async with db.connect() as conn:
        row = await fetch(conn, f"SELECT priority FROM {schema}_v1.request_facts WHERE request_id = 'G5-0'")
    assert row[0]["priority"] != "P1"  # left as the good events made it
