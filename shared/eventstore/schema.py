"""DDL of the tables every service schema holds; each service's first Alembic revision runs it."""
from __future__ import annotations

from shared.db import ident


def infrastructure_ddl(schema: str) -> list[str]:
    s = ident(schema)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        # id: insertion order (gaps, not commit order); position: gap-free, assigned after commit.
        f"""CREATE TABLE {s}.events (
            id bigserial PRIMARY KEY,
            position bigint,
            event_id uuid NOT NULL,
            stream_id text NOT NULL,
            stream_version integer NOT NULL CHECK (stream_version > 0),
            type text NOT NULL,
            subject text NOT NULL,
            time timestamptz NOT NULL,
            correlation_id text NOT NULL,
            causation_id text,
            data jsonb NOT NULL,
            personal text[] NOT NULL DEFAULT '{{}}',
            recorded_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT events_event_id_key UNIQUE (event_id),
            CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
            CONSTRAINT events_position_key UNIQUE (position)
        )""",
        f"CREATE INDEX events_unpositioned_idx ON {s}.events (id) WHERE position IS NULL",
        f"CREATE INDEX events_subject_idx ON {s}.events (subject)",
        f"""CREATE TABLE {s}.checkpoints (
            name text PRIMARY KEY,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )""",
        # What each consumer applied, per source stream: the record that makes redelivery harmless.
        f"""CREATE TABLE {s}.applied_events (
            consumer text NOT NULL,
            stream text NOT NULL,
            version integer NOT NULL,
            event_id uuid NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, stream)
        )""",
        f"""CREATE TABLE {s}.idempotency_keys (
            key text NOT NULL,
            scope text NOT NULL,
            request_hash text NOT NULL,
            status_code integer NOT NULL,
            body jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        )""",
    ]


def positions_ddl(schema: str) -> list[str]:
    """Positions kept apart, so `events` is only ever inserted into.

    Numbering events by an UPDATE of `events` wrote every event twice (a new row version and an
    entry in each of its indexes) and left a dead row per event for autovacuum, whose catch-up
    after a busy minute showed in request latency. Now an append also queues the event's id in
    `unpositioned`, and the sequencer moves ids from there into `event_positions`.
    """
    s = ident(schema)
    return [
        f"CREATE TABLE {s}.event_positions (position bigint PRIMARY KEY, id bigint NOT NULL)",
        f"CREATE TABLE {s}.unpositioned (id bigint PRIMARY KEY)",
        f"INSERT INTO {s}.event_positions (position, id) SELECT position, id FROM {s}.events "
        f"WHERE position IS NOT NULL",
        f"INSERT INTO {s}.unpositioned (id) SELECT id FROM {s}.events WHERE position IS NULL",
        f"ALTER TABLE {s}.events DROP COLUMN position",  # and with it its two indexes
    ]



def applied_by_event_ddl(schema: str) -> list[str]:
    """What a consumer applied, one row per event instead of one per stream.

    Keeping only a stream's highest applied version meant that once a later event was applied an
    earlier one never could be (a dead-lettered event redriven, or one republished after a broker
    lost it), and that one record claiming a high version blocked its stream for good. Each event
    is now recorded by its id. The old per-stream rows stay as `applied_floors`: every version up
    to theirs was applied before this change, when only the highest was written down.
    """
    s = ident(schema)
    return [
        f"ALTER TABLE {s}.applied_events RENAME TO applied_floors",
        f"ALTER INDEX {s}.applied_events_pkey RENAME TO applied_floors_pkey",
        f"""CREATE TABLE {s}.applied_events (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            stream text NOT NULL,
            version integer NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        )""",
        f"CREATE INDEX applied_events_stream_idx ON {s}.applied_events (consumer, stream, version)",
    ]


def relay_acks_ddl(schema: str) -> list[str]:
    """What the broker acknowledged to the relay (`shared.broker_watch`): the highest offset per
    topic-partition, and the cluster's id; kept apart from the checkpoints, which are positions."""
    s = ident(schema)
    return [f"""CREATE TABLE {s}.relay_acks (
        name text PRIMARY KEY,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )"""]


def traceparent_ddl(schema: str) -> list[str]:
    """Each event keeps the W3C trace context it was recorded in (null: recorded outside a trace),
    so the relay and every consumer carry the trace on: the CloudEvents `traceparent` extension."""
    return [f"ALTER TABLE {ident(schema)}.events ADD COLUMN traceparent text"]
