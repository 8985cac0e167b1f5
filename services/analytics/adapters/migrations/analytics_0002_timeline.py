"""Timeline: every event about a request, from every service, as it arrived.

Revision ID: analytics_0002
"""
from alembic import op

from shared.migrations import schema

revision = "analytics_0002"
down_revision = "analytics_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.execute(
        f"""CREATE TABLE {s}.timeline (
            seq bigserial PRIMARY KEY,
            event_id uuid NOT NULL UNIQUE,
            request_id text NOT NULL,
            service text NOT NULL,
            type text NOT NULL,
            name text NOT NULL,
            time timestamptz NOT NULL,
            stream_id text NOT NULL,
            stream_version integer NOT NULL,
            correlation_id text NOT NULL,
            causation_id text,
            data jsonb NOT NULL,
            personal text[] NOT NULL DEFAULT '{{}}'
        )"""
    )
    op.execute(f"CREATE INDEX timeline_request_idx ON {s}.timeline (request_id, time, seq)")


def downgrade() -> None:
    op.execute(f"DROP TABLE {schema()}.timeline")
