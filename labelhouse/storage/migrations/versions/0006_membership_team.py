"""memberships.team: the vendor team an annotator works for (quality per team)

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("memberships") as t:
        t.add_column(sa.Column("team", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("memberships") as t:
        t.drop_column("team")
