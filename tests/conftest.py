"""Real PostgreSQL and a real Kafka-protocol broker for the suite (RUNTIME.md's resolution order).

DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS win; TEST_DOCKER=1 uses testcontainers; otherwise the
embedded servers from PyPI wheels. Each run gets a fresh database, each test a fresh schema.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.db import Database, plain_url
from shared.eventstore import EventStore
from shared.http.ratelimit import rate_limits_out_of_the_way
from shared.migrations import migrate
from shared.runtime.embedded import EmbeddedBroker, EmbeddedPostgres, docker_kafka, docker_postgres
from shared.runtime.launcher import use_development_keys
from shared.settings import ServiceSettings

# The suite, and every service process it starts, signs with the development keys unless the
# environment gives real ones; a process outside make run and the tests has no such default.
use_development_keys()

# The suite sends thousands of requests from one subject and one address, on clocks that stand
# still: per-client rate limits are raised out of its way (tests/api/test_rate_limits.py sets its own).
rate_limits_out_of_the_way()

ROOT = Path(__file__).resolve().parent.parent
INFRA_MIGRATIONS = ROOT / "services" / "feedback" / "adapters" / "migrations"


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    idempotence: bool


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
    elif os.environ.get("TEST_DOCKER") == "1":
        with docker_postgres() as url:
            yield url
    else:
        server = EmbeddedPostgres(ROOT / "var" / "test-postgres")
        yield server.start()
        server.stop()


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield Broker(servers, os.environ.get("KAFKA_IDEMPOTENCE", "true").lower() != "false")
    elif os.environ.get("TEST_DOCKER") == "1":
        with docker_kafka() as servers:
            yield Broker(servers, True)
    else:
        with embedded_broker() as b:
            yield b


@contextlib.contextmanager
def embedded_broker(port: int | None = None) -> Iterator[Broker]:
    server = EmbeddedBroker(port, ROOT / "var" / "test-broker.log")
    (ROOT / "var").mkdir(exist_ok=True)
    try:
        yield Broker(server.start(), False)
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def database_url(postgres_server: str) -> AsyncIterator[str]:
    name = f"st_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(plain_url(postgres_server))
    await admin.execute(f"CREATE DATABASE {name}")
    url = make_url(plain_url(postgres_server)).set(database=name).render_as_string(hide_password=False)
    yield url
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.close()


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=30)
    yield db
    await db.dispose()


@pytest.fixture
async def schema(db: Database) -> str:
    """A fresh schema holding the shared infrastructure tables (migrated by Alembic)."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    await migrate(db.engine, INFRA_MIGRATIONS, name)
    return name


@pytest.fixture
def store(schema: str) -> EventStore:
    return EventStore(schema, "intake")


@pytest.fixture(scope="session")
def settings_for(database_url: str, broker: Broker) -> Callable[..., ServiceSettings]:
    """Settings for one service in its own schema and consumer groups, on the suite's servers."""

    def make(service: str, settings_class: type[ServiceSettings] = ServiceSettings, **overrides: object) -> ServiceSettings:
        isolation = f"{service}_{uuid.uuid4().hex[:8]}"
        values: dict[str, object] = dict(
            service=service,
            database_url=database_url,
            kafka_bootstrap_servers=broker.bootstrap,
            kafka_idempotence=broker.idempotence,
            log_json=True,
            relay_poll_seconds=0.05,
            consumer_retry_backoff_seconds=0.01,
            db_pool_size=5,
            db_schema=isolation,
            consumer_group_prefix=f"{isolation}-",
            consumer_session_timeout_ms=3000,
        )
        values.update(overrides)
        return settings_class(**values)  # type: ignore[arg-type]

    return make
