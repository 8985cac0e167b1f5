"""The event store's positions kept apart: `events` becomes insert-only.

Revision ID: intake_0003
"""
from alembic import op

from shared.migrations import separate_positions

revision = "intake_0003"
down_revision = "intake_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    separate_positions(op)


def downgrade() -> None:
    raise NotImplementedError("the event store is append-only history; restore from backup instead")
