"""The trash: deleted projects, items and annotations, restorable by a manager until purged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Invalid, NotFound
from labelhouse.security.permissions import require
from labelhouse.services import audit, consensus, credits
from labelhouse.storage.rawsql import Raw
from labelhouse.storage.tables import Project, Task

KINDS = ("project", "item", "annotation")


def list_trash(s: Session, actor: Actor, *, limit: int = 500) -> list[dict[str, Any]]:
    require(actor, "trash.manage")
    ws = {"w": actor.workspace_id, "n": limit}
    out: list[dict[str, Any]] = []
    for kind, sql in (
        (
            "project",
            "SELECT id, name, deleted_at FROM projects WHERE workspace_id = :w AND deleted_at IS NOT NULL ORDER BY id LIMIT :n",
        ),
        (
            "item",
            "SELECT id, project_id, deleted_at FROM items WHERE workspace_id = :w AND deleted_at IS NOT NULL ORDER BY id LIMIT :n",
        ),
        (
            "annotation",
            "SELECT id, task_id, deleted_at FROM annotations WHERE workspace_id = :w AND deleted_at IS NOT NULL "
            "AND id = root_id ORDER BY id LIMIT :n",
        ),
    ):
        for r in s.execute(text(sql), ws).all():
            out.append({"kind": kind, "id": r[0], "ref": r[1], "deleted_at": r[2]})
    return out


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise Invalid(f"trash holds {', '.join(KINDS)}; not {kind!r}", field="kind")
    return kind


def _row(s: Session, actor: Actor, table: str, row_id: int) -> Any:
    row = s.execute(
        text(f"SELECT id FROM {table} WHERE id = :i AND workspace_id = :w AND deleted_at IS NOT NULL"),
        {"i": row_id, "w": actor.workspace_id},
    ).first()
    if row is None:
        raise NotFound(f"nothing in the trash with id {row_id}")
    return row


def restore(s: Session, actor: Actor, kind: str, row_id: int, *, now: datetime) -> None:
    require(actor, "trash.manage")
    kind = _kind(kind)
    audit.record(s, actor.workspace_id, "trash_restored", f"{kind}:{row_id}", actor=actor, now=now)
    if kind == "project":
        _row(s, actor, "projects", row_id)
        s.execute(text("UPDATE projects SET deleted_at = NULL WHERE id = :i"), {"i": row_id})
    elif kind == "item":
        _row(s, actor, "items", row_id)
        s.execute(text("UPDATE items SET deleted_at = NULL WHERE id = :i"), {"i": row_id})
        s.execute(
            text(
                "UPDATE tasks SET state = CASE WHEN NOT is_gold AND done >= overlap THEN 'complete' ELSE 'open' END "
                "WHERE item_id = :i AND state = 'trashed'"
            ),
            {"i": row_id},
        )
    else:
        task_id = s.execute(
            text(
                "SELECT task_id FROM annotations WHERE id = :i AND workspace_id = :w AND deleted_at IS NOT NULL"
            ),
            {"i": row_id, "w": actor.workspace_id},
        ).scalar()
        if task_id is None:
            raise NotFound(f"nothing in the trash with id {row_id}")
        s.execute(
            text(
                "UPDATE annotations SET deleted_at = NULL WHERE root_id = (SELECT root_id FROM annotations WHERE id = :i)"
            ),
            {"i": row_id},
        )
        credits.come_back(Raw.of(s), actor.workspace_id, row_id)
        _refresh_consensus(s, actor, int(task_id))
        s.execute(
            text(
                "UPDATE tasks SET done = done + 1, state = CASE WHEN state = 'open' AND NOT is_gold AND done + 1 >= overlap "
                "THEN 'complete' ELSE state END WHERE id = :t"
            ),
            {"t": task_id},
        )


def _refresh_consensus(s: Session, actor: Actor, task_id: int) -> None:
    task = s.get(Task, task_id)
    project = s.get(Project, task.project_id) if task is not None else None
    if task is not None and project is not None:
        s.flush()
        consensus.refresh_if_stored(Raw.of(s), actor.workspace_id, task_id, project)


def purge(
    s: Session, actor: Actor, kind: str | None = None, row_id: int | None = None, *, now: datetime
) -> int:
    """Delete for good: one trashed row, or (no kind) everything in the trash."""
    require(actor, "trash.manage")
    audit.record(
        s,
        actor.workspace_id,
        "trash_purged",
        f"{kind}:{row_id}" if kind else "trash:all",
        actor=actor,
        now=now,
    )
    w = {"w": actor.workspace_id}
    if kind is not None:
        kind = _kind(kind)
        table = {"project": "projects", "item": "items", "annotation": "annotations"}[kind]
        if row_id is None:
            raise Invalid("purge one row by id, or the whole trash with no kind", field="id")
        _row(s, actor, table, row_id)
        where = (
            f"{table}.id = :i"
            if kind != "annotation"
            else "root_id = (SELECT root_id FROM annotations WHERE id = :i)"
        )
        return _purge(
            s, table, f"workspace_id = :w AND deleted_at IS NOT NULL AND {where}", {**w, "i": row_id}
        )
    total = 0
    for table in ("annotations", "items", "projects"):
        total += _purge(s, table, "workspace_id = :w AND deleted_at IS NOT NULL", w)
    return total


def _purge(s: Session, table: str, where: str, params: dict[str, Any]) -> int:
    # Children first: SQLite enforces foreign keys but our deletes must work on both databases alike.
    if table == "projects":
        ids = [r[0] for r in s.execute(text(f"SELECT id FROM projects WHERE {where}"), params)]
        for pid in ids:
            tasks = "SELECT id FROM tasks WHERE project_id = :p"
            s.execute(text("DELETE FROM annotations WHERE project_id = :p"), {"p": pid})
            s.execute(text(f"DELETE FROM drafts WHERE task_id IN ({tasks})"), {"p": pid})
            s.execute(text("DELETE FROM leases WHERE project_id = :p"), {"p": pid})
            s.execute(text("DELETE FROM jobs WHERE project_id = :p"), {"p": pid})
            s.execute(text("DELETE FROM tasks WHERE project_id = :p"), {"p": pid})
            s.execute(text("DELETE FROM items WHERE project_id = :p"), {"p": pid})
        s.execute(text(f"DELETE FROM projects WHERE {where}"), params)
        return len(ids)
    if table == "items":
        ids = [r[0] for r in s.execute(text(f"SELECT id FROM items WHERE {where}"), params)]
        for iid in ids:
            tasks = "SELECT id FROM tasks WHERE item_id = :i"
            s.execute(text(f"DELETE FROM annotations WHERE task_id IN ({tasks})"), {"i": iid})
            s.execute(text(f"DELETE FROM drafts WHERE task_id IN ({tasks})"), {"i": iid})
            s.execute(text(f"DELETE FROM leases WHERE task_id IN ({tasks})"), {"i": iid})
            s.execute(text("DELETE FROM tasks WHERE item_id = :i"), {"i": iid})
            s.execute(text("DELETE FROM items WHERE id = :i"), {"i": iid})
        return len(ids)
    result = s.execute(text(f"DELETE FROM annotations WHERE {where}"), params)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purged_before(s: Session, actor: Actor, cutoff: datetime) -> int:
    """Purge what has been in the trash since before ``cutoff`` (a retention policy)."""
    require(actor, "trash.manage")
    total = 0
    for table in ("annotations", "items", "projects"):
        total += _purge(
            s,
            table,
            "workspace_id = :w AND deleted_at IS NOT NULL AND deleted_at < :c",
            {"w": actor.workspace_id, "c": cutoff},
        )
    return total
