"""The requests read model notes whose customer was erased (`customer_erased`), so that retention
(service_layer/retention.py) passes over customers it has erased already; and it keeps no more of
the customer's personal data than its reads show (the title) or compare (the description, for the
duplicate hint): the name, phone, email and location go. The request view reads them from the
request's stream.

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
    op.execute(f"ALTER TABLE {s}.requests ADD COLUMN customer_erased boolean NOT NULL DEFAULT false, "
               f"DROP COLUMN customer_name, DROP COLUMN customer_phone, DROP COLUMN customer_email, "
               f"DROP COLUMN location")


def downgrade() -> None:
    raise NotImplementedError("restore from backup instead")
