"""Exactly-once effect by event id: late events still apply, and no record can block a stream."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from shared.db import Conn, Database, fetch
from shared.envelope import Envelope
from shared.metrics import CONSUMER_GAPS, CONSUMER_LATE, CONSUMER_SKIPPED
from shared.migrations import migrate
from tests.conftest import INFRA_MIGRATIONS
from tests.integration.test_consumer_runner import effects, make_effects_table, stream_of
from tests.support.kafka import create_topics, produce, unique_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def counting(schema: str):  # noqa: ANN201
    async def count(conn: Conn, env: Envelope) -> None:
        await fetch(conn, f"INSERT INTO {schema}.effects VALUES ($1, 1) ON CONFLICT (event_id) "
                          f"DO UPDATE SET applied = {schema}.effects.applied + 1", env.id)
    return count


async def _applied(db: Database, schema: str, ids: set[str]) -> bool:
    return ids <= set(await effects(db, schema))


def _value(metric, *labels: str) -> float:  # noqa: ANN001
    return metric.labels(*labels)._value.get()


async def test_an_earlier_event_arriving_after_a_later_one_is_still_applied(db, schema, broker, runner_for):
    """A dead-lettered v1 redriven after v2 was applied (or republished after a broker loss)."""
    topic, group = unique_topic(), f"g-{uuid.uuid4().hex[:8]}"
    await create_topics(broker.bootstrap, topic)
    await make_effects_table(db, schema)
    v1, v2, v3 = stream_of("late", 3)
    await produce(broker.bootstrap, topic, [v2, v3])
    await runner_for(topic, group, counting(schema))
    await until(lambda: _applied(db, schema, {v2.id, v3.id}))
    gaps = _value(CONSUMER_GAPS, group, topic)

    await produce(broker.bootstrap, topic, [v1, v2])  # the redrive, and v2 once more
    await until(lambda: _applied(db, schema, {v1.id}))
    await until(lambda: _skipped_at_least(group, topic, 1))
    assert await effects(db, schema) == {v1.id: 1, v2.id: 1, v3.id: 1}
    assert _value(CONSUMER_LATE, group, topic) >= 1
    assert gaps >= 1, "v2 arriving first opened a gap (v1 missing)"


async def _skipped_at_least(group: str, topic: str, n: int) -> bool:
    return _value(CONSUMER_SKIPPED, group, topic) >= n


async def test_a_record_claiming_a_far_version_blocks_nothing(db, schema, broker, runner_for):
    """One forged record saying version 99 made every consumer ignore the real withdrawal (v3)."""
    topic, group = unique_topic(), f"g-{uuid.uuid4().hex[:8]}"
    await create_topics(broker.bootstrap, topic)
    await make_effects_table(db, schema)
    v1, v2, v3 = stream_of("forged", 3)
    forged = dataclasses.replace(v2, id=str(uuid.uuid4()), stream_version=99)
    await produce(broker.bootstrap, topic, [v1, forged, v2, v3])
    await runner_for(topic, group, counting(schema))
    await until(lambda: _applied(db, schema, {v1.id, v2.id, v3.id}))
    assert set((await effects(db, schema)).values()) == {1}


async def test_a_stream_gap_is_counted_and_closes_when_the_missing_event_arrives(db, schema, broker, runner_for):
    from shared.applied import AppliedRecord

    topic, group = unique_topic(), f"g-{uuid.uuid4().hex[:8]}"
    await create_topics(broker.bootstrap, topic)
    await make_effects_table(db, schema)
    events = stream_of("gap", 5)
    await produce(broker.bootstrap, topic, [events[0], events[3], events[4]])
    await runner_for(topic, group, counting(schema))
    await until(lambda: _applied(db, schema, {events[4].id}))
    record = AppliedRecord(schema)
    async with db.connect() as conn:
        assert await record.gaps(conn, group) == [(f"{events[0].source}|{events[0].stream_id}", 5, 2)]
    assert _value(CONSUMER_GAPS, group, topic) == 1

    await produce(broker.bootstrap, topic, events[1:3])
    await until(lambda: _applied(db, schema, {e.id for e in events}))
    async with db.connect() as conn:
        assert await record.gaps(conn, group) == []


async def test_what_was_applied_before_the_upgrade_is_still_not_applied_again(db: Database, broker, runner_for):
    """The per-stream record (highest version only) becomes a floor: nothing at or below it reruns."""
    schema, topic, group = f"m_{uuid.uuid4().hex[:10]}", unique_topic(), f"g-{uuid.uuid4().hex[:8]}"

    events = stream_of("old", 20)
    await migrate(db.engine, INFRA_MIGRATIONS, schema, "feedback_0004")
    async with db.begin() as conn:
        await conn.execute(f"INSERT INTO {schema}.applied_events (consumer, stream, version, event_id) "
                           f"VALUES ($1, $2, 2, $3)", group, f"{events[0].source}|{events[0].stream_id}", events[1].id)
    await migrate(db.engine, INFRA_MIGRATIONS, schema)
    await make_effects_table(db, schema)
    await create_topics(broker.bootstrap, topic, partitions=1)
    await produce(broker.bootstrap, topic, events)
    await runner_for(topic, group, counting(schema), schema=schema)
    await until(lambda: _applied(db, schema, {e.id for e in events[2:]}))
    await until(lambda: _skipped_at_least(group, topic, 2))
    assert await effects(db, schema) == {e.id: 1 for e in events[2:]}

    await produce(broker.bootstrap, topic, events)  # the whole stream again, as after a republish
    await until(lambda: _skipped_at_least(group, topic, 22))
    assert await effects(db, schema) == {e.id: 1 for e in events[2:]}
