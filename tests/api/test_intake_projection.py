"""The requests read model folds a batch at once; the rows must be those of one event at a time."""
from __future__ import annotations

import random
import uuid

import pytest

from services.intake.adapters.projection import RebuildingRequests, RequestsProjection
from shared.auth import Role
from shared.db import Database
from tests.api.conftest import IntakeApi
from tests.support.app import as_role
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def varied_history(intake: IntakeApi) -> None:
    """Submissions interleaved with every later change a request's row can see."""
    ids = []
    for n in range(12):
        created = await intake.created(urgency=random.choice(["low", "medium", "high"]), title=f"Printer {n}")
        ids.append(created["id"])
        if n % 3 == 0:
            await intake.command(ids[n // 2], "acknowledge", {"message": "on it"})
        if n % 4 == 1:
            await intake.command(ids[-1], "triage", {"reason": "worse", "urgency": "high", "impact": "high"})
        if n % 5 == 2:
            await intake.client.patch(f"/v1/requests/{ids[-1]}", json={"reason": "typo", "title": "Printer fixed"},
                                      headers=as_role(Role.agent))
        if n % 6 == 5:
            await intake.command(ids[-2], "withdraw", {"reason": "sorted itself"})


async def rows(db: Database, schema: str) -> list[tuple]:
    async with db.connect() as conn:
        return [tuple(r) for r in await conn.fetch(f"SELECT * FROM {schema}.requests ORDER BY id")]


async def fold(db: Database, intake: IntakeApi, into: str, batches: list[int] | None,
               projection: RequestsProjection | None = None) -> None:
    """Fold the whole store into `into`'s requests table: one event at a time, or in these batch sizes."""
    projection = projection or RequestsProjection(into)
    async with db.begin() as conn:  # number what just committed, as the relay would
        await intake.store.assign_positions(conn)
    async with db.begin() as conn:
        events = await intake.store.read_all(conn, 0, 100_000)
        if batches is None:
            for env in events:
                await projection.apply(conn, env)
            return
        at = 0
        for size in batches:
            await projection.apply_batch(conn, events[at:at + size])
            at += size
        await projection.apply_batch(conn, events[at:])
        if isinstance(projection, RebuildingRequests):
            await projection.flush(conn)


async def caught_up(intake: IntakeApi, db: Database) -> None:
    """Until the live projection has folded everything the store holds now."""
    async with db.begin() as conn:  # number what just committed: the head counts numbered events only
        await intake.store.assign_positions(conn)
    async with db.connect() as conn:
        head = await intake.store.head(conn)

    async def there() -> bool:
        async with db.connect() as conn:
            return (await conn.fetchval(f"SELECT position FROM {intake.settings.schema_name}.checkpoints "
                                        f"WHERE name = 'projection:requests'") or 0) >= head
    await until(there)


async def scratch_copy(db: Database, schema: str) -> str:
    name = f"p_{uuid.uuid4().hex[:10]}"
    async with db.begin() as conn:
        await conn.execute(f"CREATE SCHEMA {name}")
        await conn.execute(f"CREATE TABLE {name}.requests (LIKE {schema}.requests INCLUDING ALL)")
    return name


async def test_folding_a_batch_at_once_gives_the_rows_of_one_event_at_a_time(intake: IntakeApi, db: Database):
    await varied_history(intake)
    one_by_one = await scratch_copy(db, intake.settings.schema_name)
    await fold(db, intake, one_by_one, None)
    expected = await rows(db, one_by_one)
    assert len(expected) >= 12
    rng = random.Random(7)
    for _ in range(5):  # cuts anywhere, including between a RequestReceived and its RequestTriaged
        batched = await scratch_copy(db, intake.settings.schema_name)
        await fold(db, intake, batched, [rng.randint(1, 9) for _ in range(20)])
        assert await rows(db, batched) == expected


async def test_the_live_read_model_equals_a_fold_of_one_event_at_a_time(intake: IntakeApi, db: Database):
    await varied_history(intake)
    await caught_up(intake, db)
    one_by_one = await scratch_copy(db, intake.settings.schema_name)
    await fold(db, intake, one_by_one, None)
    assert await rows(db, intake.settings.schema_name) == await rows(db, one_by_one)


async def test_each_row_says_what_its_request_as_loaded_from_its_stream_says(intake: IntakeApi, db: Database):
    # The read model and the aggregate fold the same events by different code: they must agree.
    await varied_history(intake)
    await caught_up(intake, db)
    async with db.connect() as conn:
        live = [dict(r) for r in await conn.fetch(f"SELECT * FROM {intake.settings.schema_name}.requests")]
    assert len(live) >= 12 and {r["status"] for r in live} >= {"triaged", "acknowledged", "withdrawn"}
    fields = ("status", "priority", "urgency", "impact", "owner", "triaged_by", "needs_review", "merged_into",
              "reopen_count", "contacts", "emergency", "category", "channel", "kind")
    for row in live:
        answer = await intake.get(f"/v1/requests/{row['id']}")
        assert answer.status_code == 200
        request = answer.json()
        assert {f: row[f] for f in fields} == {f: request[f] for f in fields}, row["id"]
        assert (row["acknowledged_at"] is None) == (request["acknowledged_at"] is None)


async def test_a_rebuilds_fold_keeping_rows_between_batches_gives_the_rows_of_one_event_at_a_time(
        intake: IntakeApi, db: Database):
    # A rebuild keeps its rows in memory and writes them in bulk now and then: with tiny limits, rows
    # are written, changed again and upserted, dropped and read back, and an erasure comes between.
    await varied_history(intake)
    erased = await intake.created(title="Printer of an erased customer")
    await intake.command(erased["id"], "acknowledge", {"message": "on it"})
    assert (await intake.client.post(f"/v1/customers/{erased['customer']['id']}/erasure",
                                     headers=as_role(Role.admin))).status_code == 200
    await varied_history(intake)
    one_by_one = await scratch_copy(db, intake.settings.schema_name)
    await fold(db, intake, one_by_one, None)
    expected = await rows(db, one_by_one)
    async with db.connect() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {one_by_one}.requests WHERE customer_erased") >= 1
    rng = random.Random(11)
    for cache_rows, flush_rows in ((10_000, 10_000), (6, 4), (3, 1)):
        rebuilt = await scratch_copy(db, intake.settings.schema_name)
        projection = RequestsProjection(intake.settings.schema_name).on_schema(rebuilt)
        projection.cache_rows, projection.flush_rows = cache_rows, flush_rows
        await fold(db, intake, rebuilt, [rng.randint(1, 9) for _ in range(30)], projection)
        assert await rows(db, rebuilt) == expected, (cache_rows, flush_rows)
