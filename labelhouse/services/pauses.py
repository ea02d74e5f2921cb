"""Annotators paused in a project: by their gold answers (the project's ``quality.pause_below``)
or by a manager; a paused annotator's ``next`` is refused with the reason until a manager
unpauses them, or, for an automatic pause, until the manager changes the rule or the gold so
that it would no longer be made (``reconsider``). Gold answers given before an unpause no longer
count towards the next pause."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelhouse.controls import Schema
from labelhouse.core.actor import Actor
from labelhouse.core.errors import Conflict, Invalid, NotFound
from labelhouse.quality.policy import QualityPolicy, pause_reason
from labelhouse.quality.task import gold_correct
from labelhouse.quality.wilson import wilson
from labelhouse.services import audit
from labelhouse.services.clock import aware
from labelhouse.services.projects import get_project, policy_of, schemas
from labelhouse.storage.rawsql import Raw, json_value
from labelhouse.storage.tables import AnnotatorPause, Membership, Project, User

MAX_REASON = 2000


def gold_scores(
    db: Raw, project_id: int, schema: Schema, *, user_id: int | None = None, since: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """Per annotator (user id): (right, answered) gold answers in the project, latest versions."""
    sql = (
        "SELECT a.user_id, a.answer, t.gold_answer FROM annotations a JOIN tasks t ON t.id = a.task_id "
        "WHERE a.project_id = :p AND t.is_gold AND a.is_latest AND a.deleted_at IS NULL "
        "AND t.state != 'trashed'"
    )
    params: dict[str, Any] = {"p": project_id}
    if user_id is not None:
        sql += " AND a.user_id = :u"
        params["u"] = user_id
    if since is not None:
        sql += " AND a.created_at > :since"
        params["since"] = since
    scores: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for uid, answer, gold in db.all(sql, params):
        right = gold_correct(schema.controls, json_value(answer), json_value(gold))
        if right is None:
            continue
        scores[uid][0] += int(right)
        scores[uid][1] += 1
    return {uid: (c, n) for uid, (c, n) in scores.items()}


def after_gold_answer(
    db: Raw, actor: Actor, project_id: int, schema: Schema, policy: QualityPolicy, *, now: datetime
) -> str | None:
    """After a gold submit: pause the annotator if their gold score (since their last unpause)
    is below the project's bar. Returns the reason when this paused them."""
    if policy.pause_below is None:
        return None
    row = db.first(
        "SELECT MAX(lifted_at), SUM(CASE WHEN lifted_at IS NULL THEN 1 ELSE 0 END) FROM annotator_pauses "
        "WHERE project_id = :p AND user_id = :u",
        {"p": project_id, "u": actor.user_id},
    )
    if row is not None and row[1]:
        return None  # already paused
    since = row[0] if row is not None else None
    correct, answered = gold_scores(db, project_id, schema, user_id=actor.user_id, since=since).get(
        actor.user_id, (0, 0)
    )
    reason = pause_reason(correct, answered, policy)
    if reason is None:
        return None
    details = {
        "correct": correct,
        "answered": answered,
        "accuracy": round(correct / answered, 4),
        "ci95": [round(x, 4) for x in wilson(correct, answered)],
        "threshold": policy.pause_below,
        "automatic": True,
    }
    db.execute(
        "INSERT INTO annotator_pauses (workspace_id, project_id, user_id, reason, details, paused_at) "
        f"VALUES (:w, :p, :u, :r, {'CAST(:d AS JSONB)' if db.is_postgres else ':d'}, :now)",
        {
            "w": actor.workspace_id,
            "p": project_id,
            "u": actor.user_id,
            "r": reason,
            "d": _json(details),
            "now": now,
        },
    )
    return reason


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


def _view(pause: AnnotatorPause, email: str) -> dict[str, Any]:
    return {
        "id": pause.id,
        "project_id": pause.project_id,
        "user_id": pause.user_id,
        "annotator": email,
        "reason": pause.reason,
        "details": pause.details,
        "automatic": pause.paused_by is None,
        "paused_at": aware(pause.paused_at),
        "lifted_at": aware(pause.lifted_at) if pause.lifted_at else None,
    }


def list_pauses(s: Session, actor: Actor, project_id: int, *, lifted: bool = False) -> list[dict[str, Any]]:
    """Who is paused in the project and why (with ``lifted``: past pauses too), newest first."""
    project = get_project(s, actor, project_id, "project.stats")
    query = (
        select(AnnotatorPause, User.email)
        .join(User, User.id == AnnotatorPause.user_id)
        .where(AnnotatorPause.project_id == project.id)
    )
    if not lifted:
        query = query.where(AnnotatorPause.lifted_at.is_(None))
    return [_view(p, email) for p, email in s.execute(query.order_by(AnnotatorPause.id.desc())).all()]


def _member(s: Session, actor: Actor, user_id: int) -> str:
    row = s.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == user_id, Membership.workspace_id == actor.workspace_id)
    ).first()
    if row is None:
        raise NotFound(f"member {user_id} not found")
    return str(row[0])


def pause(
    s: Session, actor: Actor, project_id: int, user_id: int, reason: str, *, now: datetime
) -> dict[str, Any]:
    """A manager pauses an annotator in a project, with a reason they will be shown."""
    project = get_project(s, actor, project_id, "annotators.pause")
    email = _member(s, actor, user_id)
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise Invalid(f"say why, in 1 to {MAX_REASON} characters", field="reason")
    if _active(s, project.id, user_id):
        raise Conflict(f"{email} is already paused in project {project.id}; unpause first")
    row = AnnotatorPause(
        workspace_id=actor.workspace_id,
        project_id=project.id,
        user_id=user_id,
        reason=reason,
        details={"automatic": False, "by": actor.email},
        paused_by=actor.user_id,
        paused_at=now,
    )
    s.add(row)
    s.flush()
    audit.record(
        s,
        actor.workspace_id,
        "annotator_paused",
        f"project:{project.id}",
        actor=actor,
        details={"user_id": user_id, "reason": reason},
        now=now,
    )
    return _view(row, email)


def _active(s: Session, project_id: int, user_id: int) -> list[AnnotatorPause]:
    """The annotator's pauses in force: normally one, but two gold submits at once can each
    insert one."""
    return list(
        s.scalars(
            select(AnnotatorPause).where(
                AnnotatorPause.project_id == project_id,
                AnnotatorPause.user_id == user_id,
                AnnotatorPause.lifted_at.is_(None),
            )
        ).all()
    )


def unpause(s: Session, actor: Actor, project_id: int, user_id: int, *, now: datetime) -> None:
    """Lift an annotator's pause; their gold score starts afresh for the next automatic pause.
    Unpausing someone who is not paused does nothing (DELETE is idempotent)."""
    project = get_project(s, actor, project_id, "annotators.pause")
    _member(s, actor, user_id)
    rows = _active(s, project.id, user_id)  # every one of them
    if not rows:
        return
    for row in rows:
        row.lifted_at = now
        row.lifted_by = actor.user_id
    s.flush()
    audit.record(
        s,
        actor.workspace_id,
        "annotator_unpaused",
        f"project:{project.id}",
        actor=actor,
        details={"user_id": user_id},
        now=now,
    )


def reconsider(s: Session, actor: Actor, project: Project, *, now: datetime) -> list[int]:
    """Lift the project's automatic pauses that its rule, as it is now, would not make: after the
    manager changed the quality policy (a lower ``pause_below``, a higher ``pause_min_gold``,
    auto-pause off) or trashed a gold task (a wrong gold answer no longer counts against anyone).
    Each is re-scored on the same gold answers as when it was made (those since the annotator's
    previous unpause). Pauses made by hand are the manager's own and stay. Returns who was
    unpaused. (A stricter rule pauses nobody here: pauses happen at a gold submit.)"""
    active = s.scalars(
        select(AnnotatorPause).where(
            AnnotatorPause.project_id == project.id,
            AnnotatorPause.lifted_at.is_(None),
            AnnotatorPause.paused_by.is_(None),
        )
    ).all()
    if not active:
        return []
    db = Raw.of(s)
    policy, schema = policy_of(project), schemas.get(project)
    lifted = []
    for row in active:
        last = db.first(
            "SELECT MAX(lifted_at) FROM annotator_pauses WHERE project_id = :p AND user_id = :u",
            {"p": project.id, "u": row.user_id},
        )
        since = last[0] if last is not None else None
        correct, answered = gold_scores(db, project.id, schema, user_id=row.user_id, since=since).get(
            row.user_id, (0, 0)
        )
        if pause_reason(correct, answered, policy) is not None:
            continue
        row.lifted_at = now
        row.lifted_by = actor.user_id
        lifted.append(row.user_id)
        audit.record(
            s,
            actor.workspace_id,
            "annotator_unpaused",
            f"project:{project.id}",
            actor=actor,
            details={
                "user_id": row.user_id,
                "automatic": True,
                "why": f"gold {correct}/{answered} no longer below the project's rule",
            },
            now=now,
        )
    s.flush()
    return lifted


def failed_gold_users(s: Session | Raw, project_id: int, schema: Schema, policy: QualityPolicy) -> list[int]:
    """Annotators whose gold accuracy in the project (all their gold answers) is below the pass mark."""
    from labelhouse.quality.policy import failed_gold

    scores = gold_scores(Raw.of(s), project_id, schema)
    return sorted(uid for uid, (c, n) in scores.items() if failed_gold(c, n, policy))


__all__ = [
    "after_gold_answer",
    "failed_gold_users",
    "gold_scores",
    "list_pauses",
    "pause",
    "reconsider",
    "unpause",
]
