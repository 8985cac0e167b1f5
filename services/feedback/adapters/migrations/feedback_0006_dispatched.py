"""Whether dispatch works a request (intake's triage v3): a complaint it does not is ended by the
complaint's outcome.

Revision ID: feedback_0006
"""
from alembic import op

from shared.migrations import schema

revision = "feedback_0006"
down_revision = "feedback_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f"ALTER TABLE {schema()}.requests ADD COLUMN dispatched boolean")


def downgrade() -> None:
    raise NotImplementedError("restore from backup instead")
