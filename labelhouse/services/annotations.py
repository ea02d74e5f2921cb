"""Annotations: submit (idempotent, lease holder only), new versions, reading, trashing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Conflict, Forbidden, Invalid, NotFound
from labelhouse.core.ids import ProjectId
from labelhouse.dispatch import leases as lease_sql
from labelhouse.security.permissions import allowed, require
from labelhouse.services.clock import aware
from labelhouse.services.projects import schemas
from labelhouse.services.queue import _json
from labelhouse.storage.tables import Annotation, Lease, Project

MAX_KEY = 200


@dataclass(frozen=True)
class Submitted:
    annotation: Annotation
    created: bool  # False: an idempotent retry returned the first result


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not (1 <= len(key) <= MAX_KEY):
        raise Invalid(
            f"idempotency_key is a string of 1 to {MAX_KEY} characters (a UUID is good)",
            field="idempotency_key",
        )
    return key


def _by_key(s: Session, actor: Actor, key: str) -> Annotation | None:
    return s.scalars(
        select(Annotation).where(
            Annotation.workspace_id == actor.workspace_id,
            Annotation.user_id == actor.user_id,
            Annotation.idempotency_key == key,
        )
    ).first()


def submit(
    s: Session,
    actor: Actor,
    task_id: int,
    answer: Any,
    *,
    lease_id: int,
    idempotency_key: str,
    lead_time_s: float | None = None,
    now: datetime,
    lock_rows: bool = False,
) -> Submitted:
    require(actor, "annotation.submit")
    key = _check_key(idempotency_key)
    lease_q = select(Lease).where(Lease.id == lease_id)
    if lock_rows:
        lease_q = lease_q.with_for_update()
    lease = s.scalars(lease_q).first()
    if (
        lease is None
        or lease.workspace_id != actor.workspace_id
        or not actor.may_see_project(ProjectId(lease.project_id))
    ):
        raise NotFound(f"lease {lease_id} not found")
    # After the lease row is locked, a concurrent retry of the same submit sees the first one.
    first = _by_key(s, actor, key)
    if first is not None:
        if first.task_id != task_id:
            raise Conflict(
                "this idempotency_key was already used for another task; make a new key per submit"
            )
        return Submitted(first, created=False)
    if lease.user_id != actor.user_id:
        raise Forbidden("only the annotator holding the lease may submit to it")
    if lease.task_id != task_id:
        raise Invalid(f"lease {lease_id} is for task {lease.task_id}, not task {task_id}", field="lease_id")
    _check_live(s, lease, now)
    task_row = s.execute(
        text(
            "SELECT t.project_id, i.data, t.state FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.id = :t"
        ),
        {"t": task_id},
    ).one()
    if task_row[2] == "trashed":
        raise NotFound(f"task {task_id} not found")
    project = s.get(Project, task_row[0])
    assert project is not None
    clean = schemas.get(project).validate_answer(answer, _json(task_row[1]))
    if lead_time_s is not None and not (0 <= lead_time_s <= 86400 * 7):
        raise Invalid("lead_time_s is the seconds spent, 0 to 7 days", field="lead_time_s")
    row = Annotation(
        workspace_id=actor.workspace_id,
        project_id=project.id,
        task_id=task_id,
        user_id=actor.user_id,
        lease_id=lease.id,
        version=1,
        is_latest=True,
        answer=clean,
        idempotency_key=key,
        lead_time_s=lead_time_s,
        created_at=now,
    )
    s.add(row)
    s.flush()
    row.root_id = row.id
    lease_sql.end(s, lease.id, task_id, "submitted", now)
    s.execute(
        text("DELETE FROM drafts WHERE task_id = :t AND user_id = :u"), {"t": task_id, "u": actor.user_id}
    )
    s.flush()
    return Submitted(row, created=True)


def _check_live(s: Session, lease: Lease, now: datetime) -> None:
    if lease.state == "active" and aware(lease.expires_at) > now:
        return
    if lease.state == "active":
        # Expired but not yet swept: sweep it now, then judge like any expired lease.
        lease.state = "expired"
        lease.ended_at = now
        s.execute(
            text("UPDATE tasks SET leased = leased - 1 WHERE id = :t AND leased > 0"), {"t": lease.task_id}
        )
        s.flush()
    if lease.state == "expired":
        # Late but not lost: if nobody took the freed slot, the work is still wanted.
        free = s.execute(
            text(
                "SELECT 1 FROM tasks WHERE id = :t AND state = 'open' AND (is_gold OR done + leased < overlap)"
            ),
            {"t": lease.task_id},
        ).first()
        if free is not None:
            s.execute(text("UPDATE tasks SET leased = leased + 1 WHERE id = :t"), {"t": lease.task_id})
            lease.state = "active"
            s.flush()
            return
        raise Conflict("your lease expired and the task was handed to someone else; take the next task")
    raise Conflict(f"this lease is {lease.state}; take the next task")


def get_annotation(s: Session, actor: Actor, annotation_id: int) -> Annotation:
    row = s.get(Annotation, annotation_id)
    if (
        row is None
        or row.workspace_id != actor.workspace_id
        or row.deleted_at is not None
        or not actor.may_see_project(ProjectId(row.project_id))
    ):
        raise NotFound(f"annotation {annotation_id} not found")
    if row.user_id != actor.user_id and not allowed(actor.role, "annotation.read_all"):
        raise NotFound(f"annotation {annotation_id} not found")
    return row


def edit(
    s: Session,
    actor: Actor,
    annotation_id: int,
    answer: Any,
    *,
    now: datetime,
    lead_time_s: float | None = None,
) -> Annotation:
    """A new version of an annotation; the old one stays, no longer latest."""
    old = get_annotation(s, actor, annotation_id)
    if old.user_id != actor.user_id:
        require(actor, "annotation.edit_any")
    if not old.is_latest:
        raise Conflict(f"annotation {annotation_id} has a newer version; edit the latest one")
    project = s.get(Project, old.project_id)
    assert project is not None
    data = s.execute(
        text("SELECT i.data FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.id = :t"),
        {"t": old.task_id},
    ).scalar_one()
    clean = schemas.get(project).validate_answer(answer, _json(data))
    old.is_latest = False
    new = Annotation(
        workspace_id=old.workspace_id,
        project_id=old.project_id,
        task_id=old.task_id,
        user_id=old.user_id,
        lease_id=old.lease_id,
        root_id=old.root_id,
        version=old.version + 1,
        is_latest=True,
        answer=clean,
        idempotency_key=f"edit:{uuid.uuid4()}",
        lead_time_s=lead_time_s,
        created_at=now,
    )
    s.add(new)
    s.flush()
    return new


def list_for_task(s: Session, actor: Actor, task_id: int, *, all_versions: bool = False) -> list[Annotation]:
    row = s.execute(text("SELECT project_id, workspace_id FROM tasks WHERE id = :t"), {"t": task_id}).first()
    if row is None or row[1] != actor.workspace_id or not actor.may_see_project(ProjectId(row[0])):
        raise NotFound(f"task {task_id} not found")
    query = select(Annotation).where(Annotation.task_id == task_id, Annotation.deleted_at.is_(None))
    if not all_versions:
        query = query.where(Annotation.is_latest.is_(True))
    if not allowed(actor.role, "annotation.read_all"):
        query = query.where(Annotation.user_id == actor.user_id)
    return list(s.scalars(query.order_by(Annotation.id)))


def delete(s: Session, actor: Actor, annotation_id: int, *, now: datetime) -> None:
    """Move an annotation (all its versions) to the trash; its task takes one more answer."""
    row = get_annotation(s, actor, annotation_id)
    require(actor, "annotation.delete", ProjectId(row.project_id))
    s.execute(
        text("UPDATE annotations SET deleted_at = :now WHERE root_id = :r AND deleted_at IS NULL"),
        {"now": now, "r": row.root_id},
    )
    s.execute(
        text(
            "UPDATE tasks SET done = CASE WHEN done > 0 THEN done - 1 ELSE 0 END, "
            "state = CASE WHEN state = 'complete' THEN 'open' ELSE state END WHERE id = :t"
        ),
        {"t": row.task_id},
    )
    s.flush()
