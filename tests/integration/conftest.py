"""Fixtures shared by the integration tests."""
from __future__ import annotations

import asyncio

import pytest

from shared.consumer import ConsumerRunner
from shared.kafka import make_consumer, make_producer
from shared.settings import Settings


@pytest.fixture
async def runner_for(db, schema, broker):
    stops, tasks, producers = [], [], []
    settings = Settings(kafka_bootstrap_servers=broker.bootstrap, kafka_idempotence=broker.idempotence)

    async def start(topic: str, group: str, handler, schema: str = schema, decode=None) -> asyncio.Event:  # noqa: ANN001
        producer = make_producer(settings, "test-dlq")
        await producer.start()
        runner = ConsumerRunner(
            name=group, consumer=make_consumer(settings, group, topic), producer=producer,
            db=db, schema=schema, handler=handler, max_attempts=3, backoff_seconds=0.01, decode=decode,
        )
        stop = asyncio.Event()
        stops.append(stop)
        producers.append(producer)
        tasks.append(asyncio.create_task(runner.run(stop)))
        return stop

    yield start
    for stop in stops:
        stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for producer in producers:
        await producer.stop()
