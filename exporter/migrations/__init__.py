"""Alembic migrations of the `export` schema, run by exporter.db.upgrade()."""
