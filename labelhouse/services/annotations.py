"""Annotations: submit (idempotent, lease holder only), new versions, reading, trashing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Conflict, Forbidden, Invalid, NotFound
from labelhouse.core.ids import ProjectId
from labelhouse.dispatch import leases as lease_sql
from labelhouse.security.permissions import allowed, require
from labelhouse.services import audit, credits, pauses
from labelhouse.services import consensus as task_consensus
from labelhouse.services.clock import aware
from labelhouse.services.item_data import open_fields
from labelhouse.services.projects import policies, policy_of, schemas
from labelhouse.storage.rawsql import Duplicate, Raw, json_value
from labelhouse.storage.tables import Annotation, Project, Task

MAX_KEY = 200


@dataclass(frozen=True, slots=True)
class AnnotationRow:
    """An annotation as the hot path read or wrote it, with the ORM row's attribute names: a
    plain object, since building a mapped ``Annotation`` (instrumented attributes, its instance
    state, the init events) was ~4 % of the server's GIL samples in the PostgreSQL loop."""

    id: int
    workspace_id: int
    project_id: int
    task_id: int
    user_id: int
    lease_id: int | None
    root_id: int
    version: int
    is_latest: bool
    answer: Any
    idempotency_key: str
    lead_time_s: float | None
    created_at: datetime


@dataclass(frozen=True)
class Submitted:
    annotation: AnnotationRow
    created: bool  # False: an idempotent retry returned the first result


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not (1 <= len(key) <= MAX_KEY):
        raise Invalid(
            f"idempotency_key is a string of 1 to {MAX_KEY} characters (a UUID is good)",
            field="idempotency_key",
        )
    return key


_COLUMNS = (
    "id, workspace_id, project_id, task_id, user_id, lease_id, root_id, version, is_latest, answer, "
    "idempotency_key, lead_time_s, created_at"
)


def _row_to_annotation(row: tuple[Any, ...]) -> AnnotationRow:
    # The hot path reads and writes with raw SQL; views read attributes.
    return AnnotationRow(
        id=row[0],
        workspace_id=row[1],
        project_id=row[2],
        task_id=row[3],
        user_id=row[4],
        lease_id=row[5],
        root_id=row[6],
        version=row[7],
        is_latest=bool(row[8]),
        answer=json_value(row[9]),
        idempotency_key=row[10],
        lead_time_s=row[11],
        created_at=aware(row[12]),
    )


def _by_key(db: Raw, actor: Actor, key: str) -> AnnotationRow | None:
    row = db.first(
        f"SELECT {_COLUMNS} FROM annotations WHERE workspace_id = :w AND user_id = :u AND idempotency_key = :k",
        {"w": actor.workspace_id, "u": actor.user_id, "k": key},
    )
    return None if row is None else _row_to_annotation(row)


def submit(
    s: Session | Raw,
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
    db = Raw.of(s)
    lease, task_row = _lease_and_task(db, actor, task_id, lease_id, lock_rows)
    if lease is None or lease[1] != actor.workspace_id or not actor.may_see_project(ProjectId(lease[2])):
        raise NotFound(f"lease {lease_id} not found")
    _, _, project_id, lease_task, holder, state, expires = lease
    if not (state == "active" and holder == actor.user_id and lease_task == task_id):
        # Not a first submit under a live lease: maybe a retry of one that already went through.
        # (The lease row is locked first, so a concurrent retry sees the first one's outcome.)
        first = _by_key(db, actor, key)
        if first is not None:
            if first.task_id != task_id:
                raise Conflict(_KEY_REUSED)
            again = _normalized(db, actor, task_id, answer)
            if (answer if again is None else again) != first.answer:
                # Same key, other answer: not a retry of the first submit (ATTACKS D-05).
                raise Invalid(
                    "this idempotency_key was already used to submit a different answer to this task; "
                    "a retry must resend the same answer, a new answer needs a new key (or PUT /annotations/{id})",
                    field="idempotency_key",
                )
            return Submitted(first, created=False)
    if holder != actor.user_id:
        raise Forbidden("only the annotator holding the lease may submit to it")
    if lease_task != task_id:
        raise Invalid(f"lease {lease_id} is for task {lease_task}, not task {task_id}", field="lease_id")
    _check_live(db, lease_id, task_id, state, aware(expires), now)
    if task_row is None or task_row[0] == "trashed":
        raise NotFound(f"task {task_id} not found")
    schema = schemas.parsed(project_id, str(task_row[2]), task_row[3])
    clean = schema.validate_answer(
        answer, open_fields(db, actor.workspace_id, project_id, task_row[9], task_row[1])
    )
    if lead_time_s is not None and not (0 <= lead_time_s <= 86400 * 7):
        raise Invalid("lead_time_s is the seconds spent, 0 to 7 days", field="lead_time_s")
    params = {
        "w": actor.workspace_id,
        "p": project_id,
        "t": task_id,
        "u": actor.user_id,
        "l": lease_id,
        "a": orjson.dumps(clean).decode(),
        "k": key,
        "lt": lead_time_s,
        "now": now,
        "yes": True,
    }
    columns = (
        "INSERT INTO annotations (id, root_id, workspace_id, project_id, task_id, user_id, lease_id, version, "
        "is_latest, answer, idempotency_key, lead_time_s, created_at) "
    )
    values = f":w, :p, :t, :u, :l, 1, :yes, {_json_param(db)}, :k, :lt, :now"
    if db.is_postgres:
        # The first version is its own root, under the id taken with the reads above. The insert
        # goes to the server with the next statement (a consensus read, or with the task's
        # update at the commit), not in a round trip of its own; the unique (workspace, user,
        # key) index may refuse it only then, so its meaning goes with it.
        annotation_id = int(task_row[11])
        params["id"] = annotation_id
        db.defer(columns + f"VALUES (:id, :id, {values})", params, refused=Conflict(_KEY_REUSED))
    else:
        # One writer at a time on SQLite: the next rowid is free, and local statements are cheap.
        row = _insert(
            db,
            columns + f"VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM annotations), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM annotations), {values}) RETURNING id",
            params,
        )
        assert row is not None
        annotation_id = row[0]
    _done, overlap, is_gold, raw_policy, extra_spent = task_row[4:9]
    policy = policies.parsed(project_id, str(task_row[2]), raw_policy)
    try:
        outcome = None
        if not is_gold:
            outcome = task_consensus.on_submit(
                db,
                workspace_id=actor.workspace_id,
                project_id=project_id,
                task_id=task_id,
                schema=schema,
                policy=policy,
                done_before=int(_done),
                overlap=int(overlap),
                extra_spent=int(extra_spent),
                user_id=actor.user_id,
                answer=clean,
            )
        lease_sql.finish_submit(db, lease_id, task_id, actor.user_id, now, outcome)
    except Duplicate:
        # The deferred insert, refused by the unique (workspace, user, key) index.
        raise Conflict(_KEY_REUSED) from None
    if is_gold:
        pauses.after_gold_answer(db, actor, project_id, schema, policy, now=now)
        credits.record_gold(
            db,
            workspace_id=actor.workspace_id,
            project_id=project_id,
            annotation_id=annotation_id,
            user_id=actor.user_id,
            controls=schema.controls,
            answer=clean,
            gold=None if task_row[10] is None else json_value(task_row[10]),
        )
    created = AnnotationRow(
        id=annotation_id,
        workspace_id=actor.workspace_id,
        project_id=project_id,
        task_id=task_id,
        user_id=actor.user_id,
        lease_id=lease_id,
        root_id=annotation_id,
        version=1,
        is_latest=True,
        answer=clean,
        idempotency_key=key,
        lead_time_s=lead_time_s,
        created_at=now,
    )
    return Submitted(created, created=True)


_LEASE_COLUMNS = "l.id, l.workspace_id, l.project_id, l.task_id, l.user_id, l.state, l.expires_at"
_TASK_COLUMNS = (
    "t.state, i.data, p.updated_at, p.schema, t.done, t.overlap, t.is_gold, p.quality, p.extra_labels, "
    "i.content_hash, t.gold_answer"
)
_TASK_JOINS = (
    "JOIN items i ON i.id = t.item_id JOIN projects p ON p.id = t.project_id "
    "AND p.workspace_id = :w AND p.deleted_at IS NULL"
)


def _lease_and_task(
    db: Raw, actor: Actor, task_id: int, lease_id: int, lock_rows: bool
) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]:
    """The lease row, and the task's (with its item, its project's schema and quality policy and,
    on PostgreSQL, the new annotation's id from the sequence), either None when not found.

    One statement when both exist (the usual submit), else the two reads apart so that the error
    names what is missing. With ``lock_rows`` (PostgreSQL) the lease row is locked, then the task
    row: a concurrent retry sees the first submit's outcome, and the submit completing a task sees
    every earlier one.
    """
    extra = ", nextval(pg_get_serial_sequence('annotations', 'id'))" if db.is_postgres else ""
    params = {"l": lease_id, "t": task_id, "w": actor.workspace_id}
    row = db.first(
        f"SELECT {_LEASE_COLUMNS}, {_TASK_COLUMNS}{extra} FROM leases l JOIN tasks t ON t.id = :t "
        f"{_TASK_JOINS} WHERE l.id = :l" + (" FOR UPDATE OF l, t" if lock_rows else ""),
        params,
    )
    if row is not None:
        return row[:7], row[7:]
    lease, task = db.batch(
        [
            (
                f"SELECT {_LEASE_COLUMNS} FROM leases l WHERE l.id = :l"
                + (" FOR UPDATE" if lock_rows else ""),
                params,
            ),
            (
                f"SELECT {_TASK_COLUMNS}{extra} FROM tasks t {_TASK_JOINS} WHERE t.id = :t"
                + (" FOR UPDATE OF t" if lock_rows else ""),
                params,
            ),
        ]
    )
    return (lease[0] if lease else None), (task[0] if task else None)


def _normalized(db: Raw, actor: Actor, task_id: int, answer: Any) -> Any:
    """``answer`` as a submit to ``task_id`` would store it, or None when it is not valid."""
    row = db.first(
        "SELECT p.id, p.updated_at, p.schema, i.data, i.content_hash FROM tasks t JOIN items i ON i.id = t.item_id "
        "JOIN projects p ON p.id = t.project_id WHERE t.id = :t AND p.workspace_id = :w",
        {"t": task_id, "w": actor.workspace_id},
    )
    if row is None:
        return None
    try:
        fields = open_fields(db, actor.workspace_id, row[0], row[4], row[3])
        return schemas.parsed(row[0], str(row[1]), row[2]).validate_answer(answer, fields)
    except Invalid:
        return None


_KEY_REUSED = "this idempotency_key was already used for another task; make a new key per submit"


def _insert(db: Raw, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    try:
        return db.insert(sql, params)
    except Duplicate:
        # The unique (workspace, user, key) index: the key went with an earlier, other submit.
        raise Conflict(_KEY_REUSED) from None


def _json_param(db: Raw) -> str:
    return "CAST(:a AS JSONB)" if db.is_postgres else ":a"


def _check_live(db: Raw, lease_id: int, task_id: int, state: str, expires: datetime, now: datetime) -> None:
    if state == "active" and expires > now:
        return
    if state == "active":
        # Expired but not yet swept: sweep it now, then judge like any expired lease.
        db.execute(
            "UPDATE leases SET state = 'expired', ended_at = :now WHERE id = :l", {"now": now, "l": lease_id}
        )
        lease_sql.give_back(db, task_id)
        state = "expired"
    if state == "expired":
        # Late but not lost: if nobody took the freed slot, the work is still wanted.
        taken = db.execute(
            "UPDATE tasks SET leased = leased + 1 WHERE id = :t AND state = 'open' "
            "AND (is_gold OR done + leased < overlap)",
            {"t": task_id},
        )
        if taken == 1:
            db.execute("UPDATE leases SET state = 'active', ended_at = NULL WHERE id = :l", {"l": lease_id})
            return
        raise Conflict("your lease expired and the task was handed to someone else; take the next task")
    raise Conflict(f"this lease is {state}; take the next task")


def get_annotation(s: Session, actor: Actor, annotation_id: int) -> Annotation:
    """An annotation the actor may see: of their workspace and projects, not in the trash, nor is
    its task's item or its project (else NotFound, exactly as for an id that never existed)."""
    row = s.scalars(
        select(Annotation)
        .join(Task, Task.id == Annotation.task_id)
        .join(Project, Project.id == Annotation.project_id)
        .where(
            Annotation.id == annotation_id,
            Annotation.workspace_id == actor.workspace_id,
            Annotation.deleted_at.is_(None),
            Task.state != "trashed",
            Project.deleted_at.is_(None),
        )
    ).first()
    if row is None or not actor.may_see_project(ProjectId(row.project_id)):
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
    # The task's one read: its item, its gold answer, whether it has a stored consensus.
    data, digest, gold, stored = s.execute(
        text(
            "SELECT i.data, i.content_hash, t.gold_answer, t.consensus IS NOT NULL FROM tasks t "
            "JOIN items i ON i.id = t.item_id WHERE t.id = :t AND t.workspace_id = :w"
        ),
        {"t": old.task_id, "w": actor.workspace_id},
    ).one()
    fields = open_fields(s, old.workspace_id, old.project_id, digest, data)
    schema = schemas.get(project)
    clean = schema.validate_answer(answer, fields)
    # Optimistic concurrency (ATTACKS D-04): an edit names the version it starts from (its id), and
    # only one edit of a version can make it "not latest". The conditional UPDATE is that check and
    # act in one statement (PostgreSQL re-reads the row after a concurrent writer commits; SQLite has
    # one writer), so of two editors who read the same version, the second gets 409, never a lost update.
    # the old version's credit leaves the annotator's record (rolled back with a refused edit)
    credits.leave(Raw.of(s), actor.workspace_id, annotation_id)
    flipped = Raw.of(s).execute(
        "UPDATE annotations SET is_latest = :no WHERE id = :a AND is_latest = :yes",
        {"a": annotation_id, "no": False, "yes": True},
    )
    if flipped != 1:
        raise Conflict(
            f"annotation {annotation_id} was changed by someone else meanwhile; "
            "read the latest version (GET /tasks/{task_id}/annotations) and edit that one"
        )
    s.expire(old, ["is_latest"])
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
    if stored:
        # what exports and review read stays true (the edit does not change whether it is stored)
        task_consensus.refresh(Raw.of(s), actor.workspace_id, new.task_id, schema, policy_of(project))
    if old.user_id == actor.user_id:
        # an annotator's own new answer to a gold task is scored against it again
        credits.record_gold(
            Raw.of(s),
            workspace_id=actor.workspace_id,
            project_id=new.project_id,
            annotation_id=new.id,
            user_id=new.user_id,
            controls=schema.controls,
            answer=clean,
            gold=None if gold is None else json_value(gold),
        )
    return new


def visible_task(s: Session, actor: Actor, task_id: int) -> None:
    """NotFound, exactly as for an id that never existed, unless the task is of the actor's
    workspace and projects and neither its item nor its project is in the trash."""
    row = s.execute(
        text(
            "SELECT t.project_id FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = :t "
            "AND t.workspace_id = :w AND t.state != 'trashed' AND p.deleted_at IS NULL"
        ),
        {"t": task_id, "w": actor.workspace_id},
    ).first()
    if row is None or not actor.may_see_project(ProjectId(row[0])):
        raise NotFound(f"task {task_id} not found")


def list_for_task(s: Session, actor: Actor, task_id: int, *, all_versions: bool = False) -> list[Annotation]:
    visible_task(s, actor, task_id)
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
    audit.record(
        s, actor.workspace_id, "annotation_deleted", f"annotation:{annotation_id}", actor=actor, now=now
    )
    credits.leave(Raw.of(s), actor.workspace_id, annotation_id)
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
    project = s.get(Project, row.project_id)
    assert project is not None
    task_consensus.refresh_if_stored(Raw.of(s), actor.workspace_id, row.task_id, project)
    s.flush()
