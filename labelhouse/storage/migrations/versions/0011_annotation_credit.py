"""annotations.credit_correct / credit_counted: what an answer added to its annotator's record

An answer's share of ``annotator_estimates`` (its expected right answers and the answers it
counted), kept on the answer so that a review that rejects it, a delete or an edit takes exactly
that back, and a task that finishes again replaces it instead of adding it twice.

Revision ID: 0011qplumb
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011qplumb"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annotations") as t:
        t.add_column(sa.Column("credit_correct", sa.Float(), nullable=True))
        t.add_column(sa.Column("credit_counted", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("annotations") as t:
        t.drop_column("credit_counted")
        t.drop_column("credit_correct")
