"""quality: annotator_estimates, each annotator's running accuracy evidence per project

Revision ID: 0007
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "annotator_estimates",
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("correct", sa.Float(), nullable=False),
        sa.Column("counted", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("annotator_estimates")
