"""Run a service's Alembic migrations into its schema; called on every start (idempotent)."""
from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore.schema import (
    applied_by_event_ddl,
    infrastructure_ddl,
    positions_ddl,
    relay_acks_ddl,
    traceparent_ddl,
)

_SCRIPT_LOCATION = Path(__file__).parent / "alembic"


def schema() -> str:
    """The schema being migrated; for use inside revision scripts."""
    return context.config.attributes["schema"]


def create_infrastructure(op) -> None:  # type: ignore[no-untyped-def]
    """Event store, checkpoints, applied-event record and idempotency keys for this schema."""
    for statement in infrastructure_ddl(schema()):
        op.execute(statement)


def separate_positions(op) -> None:  # type: ignore[no-untyped-def]
    """The event store's positions move out of `events` (see `positions_ddl`)."""
    for statement in positions_ddl(schema()):
        op.execute(statement)


def record_applied_by_event(op) -> None:  # type: ignore[no-untyped-def]
    """Consumers record each applied event by id (see `applied_by_event_ddl`), and the relay what
    the broker acknowledged (`relay_acks_ddl`)."""
    for statement in [*applied_by_event_ddl(schema()), *relay_acks_ddl(schema())]:
        op.execute(statement)


def keep_trace_context(op) -> None:  # type: ignore[no-untyped-def]
    """Events keep the trace context they were recorded in (see `traceparent_ddl`)."""
    for statement in traceparent_ddl(schema()):
        op.execute(statement)


def _config(versions: Path, schema_name: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPT_LOCATION))
    cfg.set_main_option("version_locations", str(versions))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["schema"] = schema_name
    return cfg


async def migrate(engine: AsyncEngine, versions: Path, schema_name: str, revision: str = "head") -> None:
    """Upgrade `schema_name` to `revision` (an older one only to test an upgrade from it)."""
    cfg = _config(versions, schema_name)

    def upgrade(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)
