"""The requests read model's `status` is the request's lifecycle state (services/intake/domain/
lifecycle.py); the separate `stage` column other services' facts used to set is folded into it.

Rows whose request progressed under the old code take that stage as their status here; their
streams hold no RequestProgressed, so the aggregate learns their state from the next fact.

Revision ID: intake_0005
"""
from alembic import op

from shared.migrations import schema

revision = "intake_0005"
down_revision = "intake_0004"
branch_labels = None
depends_on = None

OPEN = "('triaged', 'acknowledged', 'allocated', 'in_progress', 'paused', 'reopened')"


def upgrade() -> None:
    s = schema()
    op.execute(f"UPDATE {s}.requests SET status = CASE stage WHEN 'confirmed' THEN 'resolved' ELSE stage END "
               f"WHERE stage IN ('allocated', 'in_progress', 'paused', 'resolved', 'confirmed', 'closed') "
               f"AND status NOT IN ('withdrawn', 'merged')")
    op.execute(f"DROP INDEX {s}.requests_awaiting_idx")
    op.execute(f"DROP INDEX {s}.requests_review_idx")
    op.execute(f"ALTER TABLE {s}.requests DROP COLUMN stage, DROP COLUMN stage_at")
    op.execute(f"CREATE INDEX requests_awaiting_idx ON {s}.requests (priority_rank, respond_by) "
               f"WHERE acknowledged_at IS NULL AND status IN {OPEN}")
    op.execute(f"CREATE INDEX requests_review_idx ON {s}.requests (priority_rank, respond_by) "
               f"WHERE needs_review AND status IN {OPEN}")
    op.execute(f"CREATE INDEX requests_status_idx ON {s}.requests (status, received_at DESC, id DESC)")


def downgrade() -> None:
    raise NotImplementedError("restore from backup instead")
