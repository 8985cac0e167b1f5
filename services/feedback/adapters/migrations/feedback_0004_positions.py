"""The event store's positions kept apart: `events` becomes insert-only.

Revision ID: feedback_0004
"""
from alembic import op

from shared.migrations import separate_positions

revision = "feedback_0004"
down_revision = "feedback_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    separate_positions(op)


def downgrade() -> None:
    raise NotImplementedError("the event store is append-only history; restore from backup instead")
