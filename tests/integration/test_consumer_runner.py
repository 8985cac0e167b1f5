"""The consumer runner against real PostgreSQL and a real broker: exactly-once effect."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import signal
import subprocess
import sys

import pytest

from shared.consumer import dead_letter_topic
from shared.db import Conn, Database, fetch
from shared.envelope import Envelope
from shared.metrics import CONSUMER_LAG
from tests.conftest import ROOT
from tests.support.events import new_event
from tests.support.kafka import create_topics, header, produce, read_topic, unique_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def stream_of(subject: str, n: int) -> list[Envelope]:
    return [
        dataclasses.replace(new_event(subject), stream_id=f"request-{subject}", stream_version=v)
        for v in range(1, n + 1)
    ]


async def make_effects_table(db: Database, schema: str) -> None:
    async with db.begin() as conn:
        await fetch(conn, f"CREATE TABLE {schema}.effects (event_id text PRIMARY KEY, applied int NOT NULL)")


async def effects(db: Database, schema: str) -> dict[str, int]:
    async with db.connect() as conn:
        return dict(await fetch(conn, f"SELECT event_id, applied FROM {schema}.effects"))


async def test_each_event_is_applied_once_even_when_delivered_twice(db, schema, broker, runner_for):
    topic, group = unique_topic(), f"g-{schema}"
    await create_topics(broker.bootstrap, topic)
    await make_effects_table(db, schema)
    events = stream_of("a", 5) + stream_of("b", 5)
    await produce(broker.bootstrap, topic, events + events[:4])  # the first four arrive again

    async def count(conn: Conn, env: Envelope) -> None:
        await fetch(conn, f"INSERT INTO {schema}.effects VALUES ($1, 1) ON CONFLICT (event_id) "
                          f"DO UPDATE SET applied = {schema}.effects.applied + 1", env.id)

    await runner_for(topic, group, count)
    await until(lambda: _has(db, schema, 10))
    await asyncio.sleep(0.3)
    assert set((await effects(db, schema)).values()) == {1}


async def _has(db, schema, n) -> bool:  # noqa: ANN001
    return len(await effects(db, schema)) >= n


async def test_a_consumer_killed_between_handling_and_commit_applies_each_event_exactly_once(
    db, schema, database_url, broker
):
    topic, group = unique_topic(), f"g-{schema}"
    await create_topics(broker.bootstrap, topic)
    await make_effects_table(db, schema)
    events = [e for s in range(40) for e in stream_of(f"s{s}", 50)]
    random.shuffle(events)  # keep each stream's own order, interleave streams
    events.sort(key=lambda e: e.stream_version)
    await produce(broker.bootstrap, topic, events)
    logs = ROOT / "var" / f"consumer-{schema}.log"

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.processes", "consumer", database_url, schema, topic,
             broker.bootstrap, str(broker.idempotence).lower(), group],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(logs, "ab"),
        )

    for kill_after in (150, 600, 1100, 1500):
        process = start()
        await until(lambda: _has(db, schema, kill_after), timeout=60)
        process.send_signal(signal.SIGKILL)  # any line: most likely after a DB commit, before the offset commit
        process.wait()
    process = start()
    try:
        await until(lambda: _has(db, schema, len(events)), timeout=90)
        await asyncio.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
    applied = await effects(db, schema)
    skipped = [json.loads(line) for line in logs.read_text().splitlines() if '"duplicate skipped"' in line]
    assert len(applied) == len(events) and set(applied.values()) == {1}
    assert skipped, "the kills should have caused redeliveries that were skipped"


async def test_a_poison_event_goes_to_the_dead_letter_topic_and_the_rest_keep_flowing(db, schema, broker, runner_for):
    topic, group = unique_topic(), f"g-{schema}"
    await create_topics(broker.bootstrap, topic, partitions=1)
    await create_topics(broker.bootstrap, dead_letter_topic(group))
    await make_effects_table(db, schema)
    events = stream_of("p", 6)
    poison = events[2]
    await produce(broker.bootstrap, topic, events, raw=[(b"junk", b"not a cloudevent")])
    after = stream_of("q", 2)
    await produce(broker.bootstrap, topic, after)

    async def handle(conn: Conn, env: Envelope) -> None:
        if env.id == poison.id:
            raise ValueError("cannot apply this one")
        await fetch(conn, f"INSERT INTO {schema}.effects VALUES ($1, 1)", env.id)

    await runner_for(topic, group, handle)
    await until(lambda: _has(db, schema, 7))
    dead = await read_topic(broker.bootstrap, dead_letter_topic(group), 2)
    assert set(await effects(db, schema)) == {e.id for e in events + after if e.id != poison.id}
    by_id = {header(r, "ce_id"): r for r in dead}
    record = by_id[poison.id]
    assert header(record, "dlq_topic") == topic and header(record, "dlq_partition") == "0"
    assert header(record, "dlq_offset") == "2" and header(record, "dlq_attempts") == "3"
    assert "cannot apply this one" in header(record, "dlq_error")
    junk = by_id[None]
    assert junk.value == b"not a cloudevent" and header(junk, "dlq_offset") == "6"


async def test_lag_is_measured_from_the_fetch_high_watermark(db, schema, broker, runner_for):
    topic, group = unique_topic(), f"g-{schema}"
    await create_topics(broker.bootstrap, topic, partitions=1)
    await make_effects_table(db, schema)
    gate = asyncio.Event()

    async def slow(conn: Conn, env: Envelope) -> None:
        await gate.wait()
        await fetch(conn, f"INSERT INTO {schema}.effects VALUES ($1, 1)", env.id)

    await produce(broker.bootstrap, topic, stream_of("l", 20))
    await runner_for(topic, group, slow)
    await asyncio.sleep(1.0)
    gate.set()
    await until(lambda: _has(db, schema, 20))
    await asyncio.sleep(0.5)
    assert CONSUMER_LAG.labels(group, topic, "0")._value.get() == 0
    await produce(broker.bootstrap, topic, stream_of("m", 1))
    await until(lambda: _has(db, schema, 21))
