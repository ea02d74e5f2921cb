"""workspaces: deleted_at, so a deleted (crypto-shredded) workspace stays as a tombstone

The tombstone keeps the workspace's audit chain and reserves its id: SQLite would otherwise hand
the id of a deleted last row to the next workspace, whose data key the keyring refuses to make
(a destroyed key never comes back). Item payloads and blobs are sealed by a startup step instead
of a migration (services/at_rest.py): sealing needs the keys, which live outside the database.

Revision ID: 0008
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as t:
        t.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as t:
        t.drop_column("deleted_at")
