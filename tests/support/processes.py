"""Relay and consumer processes for kill-and-restart tests: `python -m tests.support.processes`.

relay    DATABASE_URL SCHEMA TOPIC BOOTSTRAP IDEMPOTENCE BATCH
consumer DATABASE_URL SCHEMA TOPIC BOOTSTRAP IDEMPOTENCE GROUP
The consumer's handler counts each application in SCHEMA.effects, inside the applying transaction.
"""
from __future__ import annotations

import asyncio
import sys

from shared.consumer import ConsumerRunner
from shared.db import Conn, Database, fetch
from shared.envelope import Envelope
from shared.eventstore import EventStore
from shared.kafka import make_consumer, make_producer
from shared.logging import configure_logging
from shared.outbox import OutboxRelay
from shared.settings import Settings


async def relay(url: str, schema: str, topic: str, settings: Settings, batch: int) -> None:
    db = Database(url, 2)
    producer = make_producer(settings, "test-relay")
    await producer.start()
    await OutboxRelay(db, EventStore(schema), producer, topic, batch_size=batch, poll_seconds=0.02).run(
        asyncio.Event()
    )


async def consumer(url: str, schema: str, topic: str, settings: Settings, group: str) -> None:
    db = Database(url, 2)
    producer = make_producer(settings, "test-dlq")
    await producer.start()

    async def count(conn: Conn, env: Envelope) -> None:
        await asyncio.sleep(0.001)
        await fetch(
            conn,
            f"INSERT INTO {schema}.effects (event_id, applied) VALUES ($1, 1) "
            f"ON CONFLICT (event_id) DO UPDATE SET applied = {schema}.effects.applied + 1",
            env.id,
        )

    runner = ConsumerRunner(
        name=group, consumer=make_consumer(settings, group, topic), producer=producer,
        db=db, schema=schema, handler=count,
    )
    await runner.run(asyncio.Event())


def main() -> None:
    mode, url, schema, topic, bootstrap, idempotence, extra = sys.argv[1:8]
    configure_logging("DEBUG", json=True)
    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        kafka_idempotence=idempotence == "true",
        consumer_session_timeout_ms=2_000,  # the killed member's partitions move on quickly
    )
    if mode == "relay":
        asyncio.run(relay(url, schema, topic, settings, int(extra)))
    else:
        asyncio.run(consumer(url, schema, topic, settings, extra))


if __name__ == "__main__":
    main()
