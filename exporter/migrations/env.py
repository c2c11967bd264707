"""Alembic environment: runs the migrations on the connection exporter.db.upgrade() passes.

Online only (no `--sql` mode). The version table lives in the `export` schema. A
transaction-level advisory lock serialises concurrent upgrades (several workers starting
at once): the second one waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

SCHEMA = "export"
VERSION_TABLE = "alembic_version"


def run(connection: Connection) -> None:
    context.configure(connection=connection, version_table=VERSION_TABLE,
                      version_table_schema=SCHEMA, transactional_ddl=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('export-migrate'))"))
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("exporter migrations run online only: call exporter.db.upgrade(url)")
_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("exporter migrations need a connection: call exporter.db.upgrade(url)")
run(_connection)
