"""A task's stored consensus: computed when a submit completes the task (and again when a review
changes its answers), where adaptive overlap decides whether it needs one more label."""

from __future__ import annotations

from typing import Any

import orjson

from labelhouse.controls import Schema
from labelhouse.dispatch.leases import TaskOutcome
from labelhouse.quality.policy import QualityPolicy, wants_more_labels
from labelhouse.quality.task import task_consensus
from labelhouse.storage.rawsql import Raw, json_value

# Answers that count towards a task's consensus: the latest version of each, not trashed, not
# rejected by a reviewer.
_COUNTED = (
    "SELECT user_id, answer FROM annotations WHERE task_id = :t AND is_latest AND deleted_at IS NULL "
    "AND (review IS NULL OR review != 'rejected') ORDER BY id"
)


def counted_answers(db: Raw, task_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [(str(uid), json_value(answer)) for uid, answer in db.all(_COUNTED, {"t": task_id})]


def on_submit(
    db: Raw,
    *,
    project_id: int,
    task_id: int,
    schema: Schema,
    policy: QualityPolicy,
    done_before: int,
    overlap: int,
    extra_spent: int,
    user_id: int,
    answer: dict[str, Any],
) -> TaskOutcome | None:
    """The outcome to store with a (non-gold) submit, or None when the task is not complete yet.

    The lone answer of a task is its own consensus (no read). A task that adaptive overlap wants
    labelled again keeps one more slot open; a label beyond ``min_labels`` is taken from the
    project's budget atomically (``projects.extra_labels``), so concurrent submits cannot overspend.
    """
    labels = done_before + 1
    if labels < overlap:
        return None
    answers = [(str(user_id), answer)] if done_before == 0 else counted_answers(db, task_id)
    values, confidence = task_consensus(schema.controls, answers, policy)
    new_overlap = overlap
    if wants_more_labels(policy, labels, confidence, extra_spent) and _take_budget(
        db, project_id, policy, labels
    ):
        new_overlap = labels + 1
    return TaskOutcome(orjson.dumps(values).decode(), confidence, new_overlap)


def _take_budget(db: Raw, project_id: int, policy: QualityPolicy, labels: int) -> bool:
    if labels < policy.min_labels:
        return True
    cap = "" if policy.budget_labels is None else " AND extra_labels < :b"
    return (
        db.execute(
            f"UPDATE projects SET extra_labels = extra_labels + 1 WHERE id = :p{cap}",
            {"p": project_id, "b": policy.budget_labels},
        )
        == 1
    )


def refresh(db: Raw, task_id: int, schema: Schema, policy: QualityPolicy) -> None:
    """Recompute a task's stored consensus from its counted answers (after a review or a delete)."""
    values, confidence = task_consensus(schema.controls, counted_answers(db, task_id), policy)
    json = "CAST(:c AS JSONB)" if db.is_postgres else ":c"
    db.execute(
        f"UPDATE tasks SET consensus = {json}, confidence = :cf WHERE id = :t",
        {"c": orjson.dumps(values).decode() if values else None, "cf": confidence, "t": task_id},
    )
