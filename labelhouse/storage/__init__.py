"""SQLAlchemy tables, the database handle, migrations and per-noun queries (always workspace-scoped)."""
