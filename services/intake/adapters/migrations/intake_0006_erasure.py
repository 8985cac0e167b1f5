"""The requests read model notes whose customer was erased (`customer_erased`), so that retention
(service_layer/retention.py) passes over customers it has erased already.

Revision ID: intake_0006
"""
from alembic import op

from shared.migrations import schema

revision = "intake_0006"
down_revision = "intake_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.execute(f"ALTER TABLE {s}.requests ADD COLUMN customer_erased boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    raise NotImplementedError("restore from backup instead")
