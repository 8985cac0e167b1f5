"""Improvement actions, for the open-actions queue.

Revision ID: feedback_0003
"""
from alembic import op

from shared.migrations import schema

revision = "feedback_0003"
down_revision = "feedback_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.execute(f"""CREATE TABLE {s}.actions (
        id text PRIMARY KEY, title text NOT NULL, owner text NOT NULL, stage text NOT NULL,
        due_at timestamptz NOT NULL, answers text[] NOT NULL)""")
    op.execute(f"CREATE INDEX actions_open_idx ON {s}.actions (due_at) WHERE stage <> 'done'")


def downgrade() -> None:
    op.execute(f"DROP TABLE {schema()}.actions")
