"""Alembic environment shared by every service; each service brings its own versions folder."""
from alembic import context
from sqlalchemy import text

from shared.db import ident

config = context.config
connection = config.attributes["connection"]
schema = ident(config.attributes["schema"])

context.configure(
    connection=connection,
    version_table_schema=schema,
    transactional_ddl=True,
)
with context.begin_transaction():
    # Replicas starting together migrate one at a time.
    connection.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"servicetrail.migrate.{schema}"}
    )
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    context.run_migrations()
