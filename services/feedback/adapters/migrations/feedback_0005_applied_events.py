"""Consumers record each applied event by its id, not only a stream's highest version; the relay
remembers what the broker acknowledged.

Revision ID: feedback_0005
"""
from alembic import op

from shared.migrations import record_applied_by_event

revision = "feedback_0005"
down_revision = "feedback_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    record_applied_by_event(op)


def downgrade() -> None:
    raise NotImplementedError("restore from backup instead")
