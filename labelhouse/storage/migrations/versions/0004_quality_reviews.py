"""quality: stored consensus per task, reviews, annotator pauses, the project's quality policy

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("projects") as t:
        t.add_column(sa.Column("quality", _JSON, nullable=True))
        t.add_column(sa.Column("extra_labels", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("tasks") as t:
        t.add_column(sa.Column("consensus", _JSON, nullable=True))
        t.add_column(sa.Column("confidence", sa.Float(), nullable=True))
        t.add_column(sa.Column("review_state", sa.String(length=16), nullable=True))
        t.add_column(sa.Column("reviewer_id", _ID, nullable=True))
        t.add_column(sa.Column("review_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_tasks_review", "tasks", ["project_id", "state", "review_state", "confidence", "id"])
    with op.batch_alter_table("annotations") as t:
        t.add_column(sa.Column("review", sa.String(length=16), nullable=True))
    op.create_table(
        "reviews",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("annotation_id", _ID, nullable=False),
        sa.Column("reviewer_id", _ID, nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("correction_id", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["annotation_id"], ["annotations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reviews_task", "reviews", ["task_id", "id"])
    op.create_table(
        "annotator_pauses",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", _JSON, nullable=True),
        sa.Column("paused_by", _ID, nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", _ID, nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paused_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["lifted_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pauses_user", "annotator_pauses", ["project_id", "user_id", "lifted_at"])


def downgrade() -> None:
    op.drop_index("ix_pauses_user", table_name="annotator_pauses")
    op.drop_table("annotator_pauses")
    op.drop_index("ix_reviews_task", table_name="reviews")
    op.drop_table("reviews")
    with op.batch_alter_table("annotations") as t:
        t.drop_column("review")
    op.drop_index("ix_tasks_review", table_name="tasks")
    with op.batch_alter_table("tasks") as t:
        for column in ("review_expires_at", "reviewer_id", "review_state", "confidence", "consensus"):
            t.drop_column(column)
    with op.batch_alter_table("projects") as t:
        t.drop_column("extra_labels")
        t.drop_column("quality")
