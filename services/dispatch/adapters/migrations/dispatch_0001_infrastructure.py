"""Event store, checkpoints, applied events and idempotency keys.

Revision ID: dispatch_0001
"""
from alembic import op

from shared.migrations import create_infrastructure

revision = "dispatch_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_infrastructure(op)


def downgrade() -> None:
    raise NotImplementedError("the event store is append-only history; restore from backup instead")
