"""Requests feedback knows of, closures awaiting confirmation, feedback items.

Revision ID: feedback_0002
"""
from alembic import op

from shared.migrations import schema

revision = "feedback_0002"
down_revision = "feedback_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.execute(f"CREATE TABLE {s}.requests (request_id text PRIMARY KEY, customer_id text, priority text, kind text)")
    op.execute(
        f"""CREATE TABLE {s}.closures (
            request_id text PRIMARY KEY, status text NOT NULL, closes_at timestamptz, follow_up_due timestamptz,
            updated_at timestamptz NOT NULL
        )"""
    )
    op.execute(f"CREATE INDEX closures_due_idx ON {s}.closures (closes_at) WHERE status = 'awaiting_confirmation'")
    op.execute(
        f"""CREATE TABLE {s}.feedback_items (
            id text PRIMARY KEY, kind text NOT NULL, request_id text, given_by text NOT NULL,
            status text NOT NULL, respond_by timestamptz NOT NULL, received_at timestamptz NOT NULL,
            escalated boolean NOT NULL DEFAULT false
        )"""
    )
    op.execute(f"CREATE INDEX feedback_items_open_idx ON {s}.feedback_items (kind, respond_by) "
               f"WHERE status <> 'resolved'")
    op.execute(f"CREATE INDEX closures_follow_up_idx ON {s}.closures (follow_up_due) WHERE follow_up_due IS NOT NULL")


def downgrade() -> None:
    for table in ("feedback_items", "closures", "requests"):
        op.execute(f"DROP TABLE {schema()}.{table}")
