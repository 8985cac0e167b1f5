"""`servicetrail dlq|lag|events` against a real broker and PostgreSQL, run as an operator runs them."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY

from shared.consumer import dead_letter_topic
from shared.db import Conn, Database, fetch
from shared.envelope import Envelope, to_kafka
from shared.ops.dlq_gauge import DeadLetterGauge
from shared.settings import Settings
from shared.shredding.crypto import seal
from tests.conftest import ROOT
from tests.support.events import new_event
from tests.support.kafka import create_topics, produce, read_topic, unique_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
def run_cli(schema, database_url, broker):  # noqa: ANN001, ANN201
    base = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "DATABASE_URL": database_url,
            "KAFKA_IDEMPOTENCE": str(broker.idempotence).lower(), "OPS_SCHEMA": f"{schema}_ops", "COLUMNS": "250"}

    async def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shared.cli", *args, cwd=ROOT, env={**base, **(env or {})},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = (b.decode() for b in await asyncio.wait_for(process.communicate(), 90))
        assert "Traceback" not in err, err
        return process.returncode, out, err

    return cli


def stream_of(subject: str, n: int) -> list[Envelope]:
    return [dataclasses.replace(new_event(subject), stream_id=f"request-{subject}", stream_version=v)
            for v in range(1, n + 1)]


async def effects(db: Database, schema: str, consumer: str) -> dict[str, int]:
    async with db.connect() as conn:
        return dict(await fetch(conn, f"SELECT event_id, applied FROM {schema}.effects WHERE consumer = $1", consumer))


async def test_a_retried_dead_letter_is_applied_once_by_the_consumer_that_gave_up_on_it_alone(
        db, schema, broker, runner_for, run_cli):
    topic, first, second = unique_topic(), f"g1-{schema}", f"g2-{schema}"
    await create_topics(broker.bootstrap, topic, partitions=1)
    await create_topics(broker.bootstrap, dead_letter_topic(first), dead_letter_topic(second))
    async with db.begin() as conn:
        await fetch(conn, f"CREATE TABLE {schema}.effects (consumer text, event_id text, applied int NOT NULL, "
                          "PRIMARY KEY (consumer, event_id))")
    events = stream_of("p", 4)
    poison, healed = events[1], set()

    def handler(group: str):  # noqa: ANN202
        async def handle(conn: Conn, env: Envelope) -> None:
            if env.id == poison.id and group not in healed:
                raise ValueError(f"{group} cannot apply this one yet")
            await fetch(conn, f"INSERT INTO {schema}.effects VALUES ($1, $2, 1) ON CONFLICT (consumer, event_id) "
                              f"DO UPDATE SET applied = {schema}.effects.applied + 1", group, env.id)
        return handle

    await runner_for(topic, first, handler(first))
    await runner_for(topic, second, handler(second))
    await produce(broker.bootstrap, topic, events)
    for group in (first, second):
        await read_topic(broker.bootstrap, dead_letter_topic(group), 1)

    async def caught_up() -> None:  # a marker after everything sent so far, applied by both
        marker = new_event(f"m-{len(healed)}-{os.urandom(3).hex()}")
        await produce(broker.bootstrap, topic, [dataclasses.replace(marker, stream_id="m", stream_version=1)])
        await until(lambda: _applied_by_both(db, schema, (first, second), marker.id))

    await caught_up()
    assert poison.id not in await effects(db, schema, first)

    code, out, _ = await run_cli("dlq", "list", "--consumer", first, "--json")
    [listed] = json.loads(out)
    assert code == 0 and listed["event_id"] == poison.id and listed["from"] == f"{topic}/0@1"
    assert listed["attempts"] == 3 and "cannot apply this one yet" in listed["error"]
    assert listed["event"] == "RequestUpdated" and listed["status"] == "pending"
    code, out, _ = await run_cli("dlq", "show", listed["id"], "--json")
    assert code == 0 and json.loads(out)["event"]["id"] == poison.id

    healed.update({first, second})  # both could apply it now; only the first is retried
    code, out, _ = await run_cli("dlq", "retry", listed["id"], "--by", "ops-7")
    assert code == 0 and "redriven" in out
    await until(lambda: _applied(db, schema, first, poison.id))
    await caught_up()
    assert (await effects(db, schema, first))[poison.id] == 1
    assert poison.id not in await effects(db, schema, second)  # its own dead letter still waits
    code, out, _ = await run_cli("dlq", "list", "--consumer", second, "--json")
    assert [d["event_id"] for d in json.loads(out)] == [poison.id]  # not dead-lettered a second time

    code, out, _ = await run_cli("dlq", "retry", listed["id"])
    assert code == 0 and "already retried" in out and "ops-7" in out
    await caught_up()
    assert (await effects(db, schema, first))[poison.id] == 1
    code, out, _ = await run_cli("dlq", "list", "--consumer", first, "--json")
    assert json.loads(out) == []
    code, out, _ = await run_cli("dlq", "list", "--consumer", first, "--all", "--json")
    [handled] = json.loads(out)
    assert handled["status"] == "retried" and handled["handled_by"] == "ops-7"


async def _applied(db: Database, schema: str, consumer: str, event_id: str) -> bool:
    return event_id in await effects(db, schema, consumer)


async def _applied_by_both(db: Database, schema: str, consumers: tuple[str, str], event_id: str) -> bool:
    return all([await _applied(db, schema, c, event_id) for c in consumers])


async def dead_lettered(broker, runner_for, group: str, *raw: tuple[bytes, bytes]) -> tuple[str, str]:  # noqa: ANN001
    """A topic whose consumer `group` has dead-lettered the `raw` records (none is a CloudEvent)."""
    topic = unique_topic()
    await create_topics(broker.bootstrap, topic, dead_letter_topic(group), partitions=1)

    async def handle(conn: Conn, env: Envelope) -> None:
        return None

    await runner_for(topic, group, handle)
    await produce(broker.bootstrap, topic, [], raw=list(raw))
    await read_topic(broker.bootstrap, dead_letter_topic(group), len(raw))
    return topic, group


async def test_what_cannot_apply_is_discarded_not_retried_and_mistakes_are_one_line(
        db, schema, broker, runner_for, run_cli):
    topic, group = await dead_lettered(broker, runner_for, f"g-{schema}", (b"junk", b"not a cloudevent"))
    code, out, _ = await run_cli("dlq", "list", "--consumer", group, "--json")
    [junk] = json.loads(out)
    assert junk["event"] is None and junk["id"] == f"{group}:0:0"
    code, out, _ = await run_cli("dlq", "show", junk["id"])
    assert code == 0 and "not a cloudevent" in out

    code, out, err = await run_cli("dlq", "retry", junk["id"])
    assert code == 1 and "can never apply as it is" in err and len(err.strip().splitlines()) == 1
    code, out, _ = await run_cli("dlq", "discard", junk["id"], "--reason", "not one of ours", "--by", "ops-3")
    assert code == 0 and "discarded" in out
    code, out, _ = await run_cli("dlq", "discard", junk["id"], "--reason", "again")
    assert code == 0 and "already discarded" in out
    code, _, err = await run_cli("dlq", "retry", junk["id"])
    assert code == 1 and "was discarded by ops-3" in err
    code, out, _ = await run_cli("dlq", "list", "--consumer", group, "--all", "--json")
    [handled] = json.loads(out)
    assert (handled["status"], handled["reason"]) == ("discarded", "not one of ours")
    for args in (("dlq", "show", f"{group}:0:99"), ("dlq", "show", "no-such-id")):
        code, _, err = await run_cli(*args)
        assert code == 1 and err.startswith("servicetrail: no dead letter") and len(err.strip().splitlines()) == 1
    code, _, err = await run_cli("dlq", "retry")
    assert code == 2 and "name one dead letter, or --all" in err


async def test_lag_is_the_committed_offset_against_the_high_watermark(broker, run_cli):
    topic, group = unique_topic(), f"lag-{os.urandom(4).hex()}"
    await create_topics(broker.bootstrap, topic, partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=200)
    await producer.start()
    try:  # five records in one batch: a broker may report the end of such a partition short of it
        sent = [await producer.send(topic, value, key, headers=headers) for key, headers, value in map(to_kafka, stream_of("l", 5))]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): 3})
    finally:
        await consumer.stop()
    code, out, _ = await run_cli("lag", "--group", group, "--json")
    assert code == 0
    assert json.loads(out) == [{"group": group, "topic": topic, "partition": 0, "committed": 3, "end": 5, "lag": 2}]
    code, out, _ = await run_cli("lag", "--group", group)
    assert code == 0 and "2 records behind" in out and topic in out
    code, out, _ = await run_cli("events", "tail", "--topic", topic, "--from-beginning")
    assert len(out.splitlines()) == 5


async def test_a_service_group_that_never_committed_is_behind_by_everything_on_its_topics(broker, run_cli):
    # A fresh deployment, or a consumer that has not started yet: the broker knows no such group,
    # and every record on the topics it reads is still to be applied.
    prefix, groups = f"lag{os.urandom(3).hex()}.", f"g{os.urandom(3).hex()}-"
    topic = f"{prefix}intake.events"
    await create_topics(broker.bootstrap, topic, partitions=1)
    await produce(broker.bootstrap, topic, stream_of("never", 4))
    env = {"TOPIC_PREFIX": prefix, "CONSUMER_GROUP_PREFIX": groups}
    code, out, _ = await run_cli("lag", "--json", env=env)
    assert code == 0
    rows = {(r["group"], r["topic"]): r for r in json.loads(out)}
    for service in ("dispatch", "feedback", "analytics"):  # intake does not read its own topic
        assert rows[(groups + service, topic)] == {"group": groups + service, "topic": topic, "partition": 0,
                                                    "committed": None, "end": 4, "lag": 4}
    assert (groups + "intake", topic) not in rows
    code, out, _ = await run_cli("lag", "--group", groups + "dispatch", env=env)
    assert code == 0 and "4 records behind" in out
    code, out, _ = await run_cli("status", "--json", env=env)
    lag = {r["service"]: r["lag"] for r in json.loads(out)}
    assert lag["dispatch"] == lag["feedback"] == lag["analytics"] == 4 and lag["intake"] == 0, lag


async def test_events_tail_decodes_filters_and_never_shows_a_personal_value(broker, run_cli):
    topic = unique_topic()
    await create_topics(broker.bootstrap, topic, partitions=1)
    token = seal(b"k" * 32, "c-1", "customer.name", "Zebedee Quartermain")
    mine = [dataclasses.replace(e, data={"request_id": "r-mine", "name": token, "n": i})
            for i, e in enumerate(stream_of("r-mine", 3))]
    other = dataclasses.replace(new_event("r-other", "RequestWithdrawn"), stream_id="o", stream_version=1)
    await produce(broker.bootstrap, topic, [*mine, other], raw=[(b"junk", b"not a cloudevent")])

    code, out, _ = await run_cli("events", "tail", "--topic", topic, "--from-beginning", "--json")
    seen = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [s.get("id") for s in seen] == [*(e.id for e in mine), other.id, None]
    assert seen[0]["data"] == {"request_id": "r-mine", "name": "[sealed]", "n": 0} and "error" in seen[-1]
    assert "Zebedee" not in out and token not in out
    code, out, _ = await run_cli("events", "tail", "--topic", topic, "--from-beginning", "--request", "r-mine", "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [e.id for e in mine]
    code, out, _ = await run_cli("events", "tail", "--topic", topic, "--from-beginning", "--type", "RequestWithdrawn")
    assert len(out.splitlines()) == 1 and "RequestWithdrawn" in out and "r-other" in out
    code, out, _ = await run_cli("events", "tail", "--topic", topic, "--last", "2")
    lines = out.splitlines()
    assert len(lines) == 2 and "RequestWithdrawn" in lines[0] and "not an event of ours" in lines[1]


async def test_the_pending_dead_letters_gauge_counts_what_is_neither_retried_nor_discarded(
        db, schema, broker, runner_for, run_cli):
    _, group = await dead_lettered(broker, runner_for, f"gauge-{schema}", (b"a", b"junk one"), (b"b", b"junk two"))
    settings = Settings(kafka_bootstrap_servers=broker.bootstrap, kafka_idempotence=broker.idempotence,
                        ops_schema=f"{schema}_ops")
    gauge = DeadLetterGauge(settings, db, [group], poll_seconds=30)

    async def pending() -> float | None:
        await gauge.run_once()
        return REGISTRY.get_sample_value("servicetrail_dead_letters_pending", {"consumer": group})

    assert await pending() == 2
    code, _, _ = await run_cli("dlq", "discard", f"{group}:0:0", "--reason", "junk")
    assert code == 0 and await pending() == 1
