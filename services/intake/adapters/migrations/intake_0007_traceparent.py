"""Events keep the W3C trace context they were recorded in, so one trace follows a request from
the HTTP command through the relay and Kafka into every consumer.

Revision ID: intake_0007
"""
from alembic import op

from shared.migrations import keep_trace_context

revision = "intake_0007"
down_revision = "intake_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    keep_trace_context(op)


def downgrade() -> None:
    raise NotImplementedError("restore from backup instead")
