"""Review: a reviewer takes the next complete task of a project (quality routes the doubtful
ones first), sees its item and annotations, and accepts, rejects (with a reason) or corrects
each annotation. See docs/quality.md, "Review", for the states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Conflict, Forbidden, Invalid, NotFound
from labelhouse.core.ids import ProjectId
from labelhouse.quality.policy import review_route
from labelhouse.security.permissions import allowed, require
from labelhouse.services import annotations as ann
from labelhouse.services import audit, credits
from labelhouse.services import consensus as task_consensus
from labelhouse.services.clock import aware
from labelhouse.services.item_data import open_fields
from labelhouse.services.pauses import failed_gold_users
from labelhouse.services.projects import get_project, policy_of, schemas
from labelhouse.services.queue import with_file_urls
from labelhouse.storage.rawsql import Raw
from labelhouse.storage.tables import Annotation, Project, Review, Task, User

DECISIONS = {"accept": "accepted", "reject": "rejected", "correct": "corrected"}
MAX_REASON = 2000

# A complete, non-gold task nobody is reviewing now (a claim past its expiry is free again),
# none of whose annotations is the reviewer's own.
_AVAILABLE = (
    "t.project_id = :p AND t.state = 'complete' AND t.is_gold = :no "
    "AND (t.review_state IS NULL OR (t.review_state = 'claimed' AND t.review_expires_at <= :now)) "
    "AND NOT EXISTS (SELECT 1 FROM annotations o WHERE o.task_id = t.id AND o.user_id = :me "
    "AND o.deleted_at IS NULL)"
)


@dataclass(frozen=True)
class ReviewTask:
    """What ``next_review`` hands a reviewer."""

    task: dict[str, Any]
    annotations: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    route: str
    expires_at: datetime


def _candidate(s: Session, extra: str, order: str, params: dict[str, Any]) -> int | None:
    row = s.execute(
        text(f"SELECT t.id FROM tasks t WHERE {_AVAILABLE}{extra} ORDER BY {order} LIMIT 1"), params
    ).first()
    return None if row is None else int(row[0])


def next_review(s: Session, actor: Actor, project_id: int, *, now: datetime) -> ReviewTask | None:
    """Claim the next task to review (or return the one the reviewer holds), or None.

    Order: tasks with an annotation by someone who failed gold in the project, then tasks whose
    confidence is below ``quality.review_below`` (least confident first), then the rest by age.
    """
    project = get_project(s, actor, project_id, "review")
    policy = policy_of(project)
    schema = schemas.get(project)
    failed = failed_gold_users(s, project.id, schema, policy)
    held = s.execute(
        text(
            "SELECT id FROM tasks WHERE project_id = :p AND review_state = 'claimed' AND reviewer_id = :me "
            "AND review_expires_at > :now ORDER BY id LIMIT 1"
        ),
        {"p": project.id, "me": actor.user_id, "now": now},
    ).first()
    expires = now + timedelta(seconds=project.lease_seconds)
    task_id = int(held[0]) if held else _claim(s, actor, project, failed, policy.review_below, now, expires)
    if task_id is None:
        return None
    task = s.get(Task, task_id)
    assert task is not None
    if held:
        expires = aware(task.review_expires_at) if task.review_expires_at else expires
    annotations = _annotations(s, task.id)
    any_failed = any(a["annotator_id"] in failed and a["review"] != "rejected" for a in annotations)
    data, digest = s.execute(
        text("SELECT data, content_hash FROM items WHERE id = :i"), {"i": task.item_id}
    ).one()
    fields = open_fields(s, task.workspace_id, task.project_id, digest, data)
    details: dict[str, Any] = {"project": task.project_id, "task": task.id}
    if held:
        details["again"] = True
    audit.record_in_lane(s, actor, "review_handout", f"item:{task.item_id}", details, now=now)
    return ReviewTask(
        task={
            "id": task.id,
            "item_id": task.item_id,
            "project_id": task.project_id,
            "item": with_file_urls(task.item_id, fields),
            "consensus": task.consensus,
            "confidence": task.confidence,
            "labels": task.done,
        },
        annotations=annotations,
        reviews=[review_view(r) for r in _reviews(s, task.id)],
        route=review_route(task.confidence, any_failed, policy),
        expires_at=expires,
    )


def _claim(
    s: Session,
    actor: Actor,
    project: Project,
    failed: list[int],
    below: float,
    now: datetime,
    expires: datetime,
) -> int | None:
    params: dict[str, Any] = {"p": project.id, "me": actor.user_id, "now": now, "no": False, "below": below}
    passes: list[tuple[str, str]] = []
    if failed:
        who = ",".join(str(int(u)) for u in failed)
        passes.append(
            (
                " AND EXISTS (SELECT 1 FROM annotations f WHERE f.task_id = t.id AND f.is_latest "
                "AND f.deleted_at IS NULL AND (f.review IS NULL OR f.review != 'rejected') "
                f"AND f.user_id IN ({who}))",
                "COALESCE(t.confidence, 1), t.id",
            )
        )
    passes.append((" AND t.confidence < :below", "t.confidence, t.id"))
    passes.append(("", "t.id"))
    for _attempt in range(8):
        for extra, order in passes:
            task_id = _candidate(s, extra, order, params)
            if task_id is not None:
                break
        else:
            return None
        taken = s.execute(
            text(
                "UPDATE tasks AS t SET review_state = 'claimed', reviewer_id = :me, review_expires_at = :exp "
                f"WHERE t.id = :t AND {_AVAILABLE}"
            ),
            {**params, "t": task_id, "exp": expires},
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return task_id
    return None


def _annotations(s: Session, task_id: int) -> list[dict[str, Any]]:
    rows = s.execute(
        select(Annotation, User.email)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.task_id == task_id, Annotation.is_latest.is_(True), Annotation.deleted_at.is_(None))
        .order_by(Annotation.id)
    ).all()
    return [
        {
            "id": a.id,
            "task_id": a.task_id,
            "annotator_id": a.user_id,
            "annotator": email,
            "version": a.version,
            "answer": a.answer,
            "lead_time_s": a.lead_time_s,
            "created_at": aware(a.created_at),
            "review": a.review,
        }
        for a, email in rows
    ]


def _reviews(s: Session, task_id: int) -> list[Review]:
    return list(s.scalars(select(Review).where(Review.task_id == task_id).order_by(Review.id)))


def review_view(r: Review) -> dict[str, Any]:
    return {
        "id": r.id,
        "task_id": r.task_id,
        "annotation_id": r.annotation_id,
        "reviewer_id": r.reviewer_id,
        "decision": r.decision,
        "reason": r.reason,
        "correction_id": r.correction_id,
        "created_at": aware(r.created_at),
    }


def decide(
    s: Session,
    actor: Actor,
    annotation_id: int,
    decision: str,
    *,
    reason: str | None = None,
    answer: dict[str, Any] | None = None,
    now: datetime,
) -> Review:
    """Accept, reject (with a reason) or correct (with the right answer) one annotation.

    A rejected answer stops counting: its task takes one more label from someone else and
    returns to the review queue when complete again. A correction is a new version of the
    annotation, made by the reviewer. When every counted answer of the task has a decision, the
    task is ``reviewed``.
    """
    require(actor, "review")
    target = ann.get_annotation(s, actor, annotation_id)
    require(actor, "review", ProjectId(target.project_id))
    state = DECISIONS.get(decision)
    if state is None:
        raise Invalid("decision is accept, reject or correct", field="decision")
    if target.user_id == actor.user_id:
        raise Forbidden("you may not review your own annotation; another reviewer must")
    if not target.is_latest:
        raise Conflict(f"annotation {annotation_id} has a newer version; review the latest one")
    if target.review is not None:
        raise Conflict(f"annotation {annotation_id} was already {target.review}")
    task = s.get(Task, target.task_id)
    assert task is not None
    if (
        task.review_state == "claimed"
        and task.reviewer_id != actor.user_id
        and task.review_expires_at is not None
        and aware(task.review_expires_at) > now
    ):
        raise Conflict(f"task {task.id} is being reviewed by someone else; take the next one")
    clean_reason = (reason or "").strip() or None
    if clean_reason is not None and len(clean_reason) > MAX_REASON:
        raise Invalid(f"a reason has at most {MAX_REASON} characters", field="reason")
    if state == "rejected" and clean_reason is None:
        raise Invalid("say why the annotation is rejected; the annotator will see it", field="reason")
    correction_id = None
    if state == "corrected":
        if answer is None:
            raise Invalid("a correction needs the right answer", field="answer")
        corrected = ann.edit(s, actor, annotation_id, answer, now=now)
        corrected.review = "corrected"
        correction_id = corrected.id
    elif answer is not None:
        raise Invalid("only a correction carries an answer", field="answer")
    if state == "rejected":
        # before the answer stops counting: what it added to its annotator's record goes
        credits.leave(Raw.of(s), actor.workspace_id, target.id)
    target.review = state
    row = Review(
        workspace_id=actor.workspace_id,
        project_id=target.project_id,
        task_id=task.id,
        annotation_id=target.id,
        reviewer_id=actor.user_id,
        decision=state,
        reason=clean_reason,
        correction_id=correction_id,
        created_at=now,
    )
    s.add(row)
    if state == "rejected":
        # the answer no longer counts: the task wants one more label, then a review again
        task.done = max(0, task.done - 1)
        if task.state == "complete":
            task.state = "open"
        _release(task)
    elif task.state == "complete" and _all_decided(s, task.id):
        task.review_state = "reviewed"
        task.reviewer_id = actor.user_id
        task.review_expires_at = None
    s.flush()
    if state != "accepted":
        project = s.get(Project, task.project_id)
        assert project is not None
        task_consensus.refresh(
            Raw.of(s), actor.workspace_id, task.id, schemas.get(project), policy_of(project)
        )
    return row


def _all_decided(s: Session, task_id: int) -> bool:
    s.flush()
    left = s.execute(
        text(
            "SELECT COUNT(*) FROM annotations WHERE task_id = :t AND is_latest AND deleted_at IS NULL "
            "AND review IS NULL"
        ),
        {"t": task_id},
    ).scalar_one()
    return int(left) == 0


def _release(task: Task) -> None:
    task.review_state = None
    task.reviewer_id = None
    task.review_expires_at = None


def release(s: Session, actor: Actor, task_id: int, *, now: datetime) -> None:
    """Give a claimed task back to the review queue."""
    require(actor, "review")
    task = s.get(Task, task_id)
    if (
        task is None
        or task.workspace_id != actor.workspace_id
        or not actor.may_see_project(ProjectId(task.project_id))
    ):
        raise NotFound(f"task {task_id} not found")
    if task.review_state != "claimed" or task.reviewer_id != actor.user_id:
        raise Conflict(f"you are not reviewing task {task_id}; nothing to release")
    _release(task)
    s.flush()


def list_reviews(s: Session, actor: Actor, task_id: int) -> list[dict[str, Any]]:
    """A task's review decisions; an annotator sees only those on their own annotations."""
    ann.visible_task(s, actor, task_id)
    reviews = _reviews(s, task_id)
    if not allowed(actor.role, "annotation.read_all"):
        own = set(
            s.scalars(
                select(Annotation.id).where(
                    Annotation.task_id == task_id, Annotation.user_id == actor.user_id
                )
            )
        )
        reviews = [r for r in reviews if r.annotation_id in own]
    return [review_view(r) for r in reviews]
