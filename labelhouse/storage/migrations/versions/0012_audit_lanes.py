"""audit_events: lanes, one hash chain per (workspace, lane)

The workspace's own events stay in lane 'main' (their hashes are unchanged); each annotator's task
handouts go to a lane of their own ('user:<id>'), which only that user's requests extend, so handing
out tasks takes no workspace-wide lock. Sequence numbers are unique per lane.

Revision ID: 0012
Revises: 0011qplumb
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011qplumb"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD = "uq_audit_events_workspace_seq"


def _sqlite_table() -> sa.Table:
    """audit_events as migration 0003 made it, with its unnamed unique constraint given a name so
    that the batch copy can drop it (SQLite cannot alter a constraint in place)."""
    return sa.Table(
        "audit_events",
        sa.MetaData(),
        sa.Column("id", _ID, primary_key=True),
        sa.Column("workspace_id", _ID, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("workspace_id", "seq", name=_OLD),
    )


def _postgres_unique_name(bind: sa.engine.Connection, columns: list[str]) -> str | None:
    for uc in sa.inspect(bind).get_unique_constraints("audit_events"):
        if uc["column_names"] == columns:
            return str(uc["name"])
    return None


def upgrade() -> None:
    bind = op.get_bind()
    lane = sa.Column("lane", sa.String(length=64), nullable=False, server_default="main")
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("audit_events", copy_from=_sqlite_table(), recreate="always") as batch:
            batch.drop_constraint(_OLD, type_="unique")
            batch.add_column(lane)
            batch.create_unique_constraint(
                "uq_audit_events_workspace_id_lane_seq", ["workspace_id", "lane", "seq"]
            )
        return
    op.add_column("audit_events", lane)
    old = _postgres_unique_name(bind, ["workspace_id", "seq"])
    if old:
        op.drop_constraint(old, "audit_events", type_="unique")
    op.create_unique_constraint(
        "uq_audit_events_workspace_id_lane_seq", "audit_events", ["workspace_id", "lane", "seq"]
    )


def downgrade() -> None:
    """Back to one chain per workspace: the annotators' lanes are dropped (their events with them)."""
    op.execute("DELETE FROM audit_events WHERE lane != 'main'")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint("uq_audit_events_workspace_id_lane_seq", type_="unique")
        batch.drop_column("lane")
        batch.create_unique_constraint(_OLD, ["workspace_id", "seq"])
