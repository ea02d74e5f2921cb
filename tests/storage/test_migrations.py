"""Migrations are code under test: upgrade from empty on both databases, and models and
migrations agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from labelhouse.runtime import Runtime
from labelhouse.storage.migrate import upgrade
from labelhouse.storage.tables import Base


def test_upgrade_from_empty_creates_every_table(rt: Runtime) -> None:
    tables = set(inspect(rt.db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    upgrade(rt.db)  # a second run is a no-op


def test_models_and_migrations_agree(rt: Runtime) -> None:
    with rt.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == [], f"models differ from migrations; write a migration: {diff}"
