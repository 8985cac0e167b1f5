"""Resources, jobs and SLA timers, kept in the same transaction as the events they follow.

Revision ID: dispatch_0002
"""
from alembic import op

from shared.migrations import schema

revision = "dispatch_0002"
down_revision = "dispatch_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.execute(
        f"""CREATE TABLE {s}.resources (
            id text PRIMARY KEY, name text NOT NULL, kind text NOT NULL, skills jsonb NOT NULL,
            capacity integer NOT NULL, zone text, shift jsonb, status text NOT NULL, until timestamptz,
            load integer NOT NULL DEFAULT 0,
            CONSTRAINT resources_capacity_check CHECK (load >= 0 AND load <= capacity)
        )"""
    )
    op.execute(f"CREATE INDEX resources_skills_idx ON {s}.resources USING gin (skills)")
    op.execute(
        f"""CREATE TABLE {s}.jobs (
            request_id text PRIMARY KEY, status text NOT NULL, priority text NOT NULL,
            priority_rank smallint NOT NULL, required_skills text[] NOT NULL, zone text, resource_id text,
            pending_resource_id text, declined_by text[] NOT NULL DEFAULT '{{}}', escalation text,
            received_at timestamptz NOT NULL, respond_by timestamptz NOT NULL, resolve_by timestamptz NOT NULL,
            opened_at timestamptz NOT NULL, updated_at timestamptz NOT NULL
        )"""
    )
    op.execute(f"CREATE INDEX jobs_open_idx ON {s}.jobs (priority_rank, respond_by) WHERE status = 'open'")
    op.execute(f"CREATE INDEX jobs_resource_idx ON {s}.jobs (resource_id, status)")
    op.execute(
        f"""CREATE TABLE {s}.sla_timers (
            request_id text NOT NULL, timer text NOT NULL, due_at timestamptz NOT NULL,
            PRIMARY KEY (request_id, timer)
        )"""
    )
    op.execute(f"CREATE INDEX sla_timers_due_idx ON {s}.sla_timers (due_at)")


def downgrade() -> None:
    for table in ("sla_timers", "jobs", "resources"):
        op.execute(f"DROP TABLE {schema()}.{table}")
