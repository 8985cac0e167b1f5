"""Events keep the W3C trace context they were recorded in, so one trace follows a request from
the HTTP command through the relay and Kafka into every consumer.

Revision ID: dispatch_0005
"""
from alembic import op

from shared.migrations import keep_trace_context

revision = "dispatch_0005"
down_revision = "dispatch_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    keep_trace_context(op)


def downgrade() -> None:
    raise NotImplementedError("restore from backup instead")
