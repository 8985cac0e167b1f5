"""Read models by version; the timeline moves into the archive (the schema's event table).

Revision ID: analytics_0003
"""
from alembic import op

from shared.migrations import schema

revision = "analytics_0003"
down_revision = "analytics_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.execute(
        f"""CREATE TABLE {s}.read_model_versions (
            version integer PRIMARY KEY,
            status text NOT NULL CHECK (status IN ('building', 'live', 'retired', 'dropped')),
            requested_by text NOT NULL,
            created_at timestamptz NOT NULL,
            live_at timestamptz,
            retired_at timestamptz
        )"""
    )
    op.execute(f"CREATE UNIQUE INDEX read_model_versions_one_live ON {s}.read_model_versions (status) "
               f"WHERE status IN ('live', 'building')")
    # Every consumed event becomes part of the archive, in the order it arrived.
    op.execute(
        f"""INSERT INTO {s}.events (event_id, stream_id, stream_version, type, subject, time,
                                    correlation_id, causation_id, data, personal)
            SELECT event_id, stream_id, stream_version, type, request_id, time, correlation_id,
                   causation_id, data, personal FROM {s}.timeline ORDER BY seq
            ON CONFLICT (event_id) DO NOTHING"""
    )
    op.execute(f"DROP TABLE {s}.timeline")


def downgrade() -> None:
    raise NotImplementedError("the archive is history; restore from backup instead")
