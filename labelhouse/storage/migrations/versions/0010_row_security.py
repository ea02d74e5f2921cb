"""row security on PostgreSQL: tenant tables show only the workspace of the unit of work (Z-08)

A backstop under the queries' own workspace filters: with ``app.workspace_id`` set for the
transaction (storage/database.py, from core/scope.py), a query that forgot its filter sees and
writes nothing of another workspace. Unset (CLI, job worker, the authentication lookups), the
policy lets the privileged path through. FORCE applies it to the tables' owner too; only a
superuser or a BYPASSRLS role skips it, so the app must not connect as one (docs/security.md).
SQLite has no row security: nothing to do there.

Revision ID: 0010
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Every table with a workspace_id, except the identity tables that authentication reads before
# the workspace is known and that list a user's workspaces (memberships, tokens).
TABLES = (
    "projects",
    "items",
    "tasks",
    "leases",
    "annotations",
    "reviews",
    "annotator_pauses",
    "annotator_estimates",
    "drafts",
    "jobs",
    "blobs",
    "audit_events",
)
# NULLIF: the setting reads '' (not NULL) once a transaction of this connection has set and ended it.
_IN_SCOPE = (
    "NULLIF(current_setting('app.workspace_id', true), '') IS NULL "
    "OR workspace_id = NULLIF(current_setting('app.workspace_id', true), '')::bigint"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY workspace_scope ON {table} USING ({_IN_SCOPE}) WITH CHECK ({_IN_SCOPE})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS workspace_scope ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
