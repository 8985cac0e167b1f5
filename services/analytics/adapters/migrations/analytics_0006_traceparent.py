"""Events keep the W3C trace context they were recorded in, so one trace follows a request from
the HTTP command through the relay and Kafka into every consumer.

Revision ID: analytics_0006
"""
from alembic import op

from shared.migrations import keep_trace_context

revision = "analytics_0006"
down_revision = "analytics_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    keep_trace_context(op)


def downgrade() -> None:
    raise NotImplementedError("restore from backup instead")
