"""Requests read model: queues, search, a customer's requests, duplicate hints.

Revision ID: intake_0002
"""
from alembic import op

from shared.migrations import schema

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.execute(
        f"""CREATE TABLE {s}.requests (
            id text PRIMARY KEY,
            customer_id text, customer_name text, customer_phone text, customer_email text,
            channel text, kind text, category text, title text, description text, location text,
            urgency text, impact text, priority text, priority_rank smallint, emergency boolean,
            status text, stage text, stage_at timestamptz,
            owner text, triaged_by text, needs_review boolean NOT NULL DEFAULT false,
            received_at timestamptz, respond_by timestamptz, resolve_by timestamptz,
            respond_risk_at timestamptz, acknowledged_at timestamptz, need_confirmed_at timestamptz,
            merged_into text, reopen_count integer NOT NULL DEFAULT 0, contacts integer NOT NULL DEFAULT 0,
            updated_at timestamptz
        )"""
    )
    op.execute(f"CREATE INDEX requests_customer_idx ON {s}.requests (customer_id, received_at DESC)")
    op.execute(f"CREATE INDEX requests_received_idx ON {s}.requests (received_at DESC, id DESC)")
    op.execute(
        f"CREATE INDEX requests_awaiting_idx ON {s}.requests (priority_rank, respond_by) "
        f"WHERE acknowledged_at IS NULL AND status IN ('triaged', 'reopened') AND stage IS DISTINCT FROM 'closed'"
    )
    op.execute(
        f"CREATE INDEX requests_review_idx ON {s}.requests (priority_rank, respond_by) "
        f"WHERE needs_review AND status IN ('triaged', 'acknowledged', 'reopened') "
        f"AND stage IS DISTINCT FROM 'closed'"
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {schema()}.requests")
