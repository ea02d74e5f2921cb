"""A task's stored consensus: computed when a submit completes the task (and again when a review
changes its answers), where adaptive overlap decides whether it needs one more label.

Under adaptive overlap the posterior weighs each annotator by their estimated accuracy in the
project, read from ``annotator_estimates`` in the same statement as the task's answers; when a
task is finished, each of its single-choice answers adds its posterior probability of being right
to its annotator's record (``quality.policy.answer_credit``): a few upserts, never a project fit.
"""

from __future__ import annotations

from typing import Any

import orjson

from labelhouse.controls import Schema
from labelhouse.dispatch.leases import TaskOutcome
from labelhouse.quality.policy import (
    QualityPolicy,
    annotator_accuracy,
    wants_more_labels,
)
from labelhouse.quality.task import task_consensus, task_credit, task_settled
from labelhouse.services import credits
from labelhouse.services.projects import policy_of, schemas
from labelhouse.storage.rawsql import Raw, json_value
from labelhouse.storage.tables import Project

# Answers that count towards a task's consensus: the latest version of each, not trashed, not
# rejected by a reviewer. Every statement here names the workspace: a task id of another
# workspace finds nothing (on SQLite the application's filters are the only wall).
_COUNTED = (
    "SELECT user_id, answer FROM annotations WHERE task_id = :t AND workspace_id = :w "
    "AND is_latest AND deleted_at IS NULL "
    "AND (review IS NULL OR review != 'rejected') ORDER BY id"
)


# The same answers with each annotator's running record in the project (adaptive overlap).
_COUNTED_WITH_RECORD = (
    "SELECT a.user_id, a.answer, e.correct, e.counted FROM annotations a "
    "LEFT JOIN annotator_estimates e ON e.project_id = a.project_id AND e.user_id = a.user_id "
    "WHERE a.task_id = :t AND a.workspace_id = :w AND a.is_latest AND a.deleted_at IS NULL "
    "AND (a.review IS NULL OR a.review != 'rejected') ORDER BY a.id"
)


def counted_answers(db: Raw, workspace_id: int, task_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (str(uid), json_value(answer)) for uid, answer in db.all(_COUNTED, {"t": task_id, "w": workspace_id})
    ]


def answers_with_accuracy(
    db: Raw, workspace_id: int, task_id: int, policy: QualityPolicy
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, float]]:
    """The task's counted answers and each of their annotators' estimated accuracy."""
    answers: list[tuple[str, dict[str, Any]]] = []
    accuracy: dict[str, float] = {}
    for uid, answer, correct, counted in db.all(_COUNTED_WITH_RECORD, {"t": task_id, "w": workspace_id}):
        answers.append((str(uid), json_value(answer)))
        accuracy[str(uid)] = annotator_accuracy(float(correct or 0.0), float(counted or 0.0), policy)
    return answers, accuracy


def on_submit(
    db: Raw,
    *,
    workspace_id: int,
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
    accuracy: dict[str, float] | None = None
    if policy.adaptive:
        answers, accuracy = answers_with_accuracy(db, workspace_id, task_id, policy)
    elif done_before == 0:
        answers = [(str(user_id), answer)]
    else:
        answers = counted_answers(db, workspace_id, task_id)
    values, confidence = task_consensus(schema.controls, answers, policy, accuracy)
    settled = None
    target = policy.target_confidence
    if (
        target is not None
        and policy.stop_rule == "predictive"
        and policy.min_labels <= labels < policy.max_labels
        and confidence is not None
        and confidence >= target  # below it the task wants another label whatever ``settled``
    ):
        settled = task_settled(schema.controls, answers, policy, accuracy)
    new_overlap = overlap
    if wants_more_labels(policy, labels, confidence, extra_spent, settled) and _take_budget(
        db, workspace_id, project_id, policy, labels
    ):
        new_overlap = labels + 1
    elif accuracy is not None:
        _credit(db, workspace_id, project_id, schema, answers, accuracy, task_id=task_id)
    return TaskOutcome(orjson.dumps(values).decode(), confidence, new_overlap)


def _credit(
    db: Raw,
    workspace_id: int,
    project_id: int,
    schema: Schema,
    answers: list[tuple[str, dict[str, Any]]],
    accuracy: dict[str, float],
    *,
    task_id: int,
) -> None:
    """Add a finished task's evidence to its annotators' records (services.credits: kept on each
    answer too, so a reject takes it back and finishing again replaces it)."""
    credits.record_task(
        db, workspace_id, project_id, task_id, task_credit(schema.controls, answers, accuracy)
    )


def _take_budget(db: Raw, workspace_id: int, project_id: int, policy: QualityPolicy, labels: int) -> bool:
    if labels < policy.min_labels:
        return True
    cap = "" if policy.budget_labels is None else " AND extra_labels < :b"
    return (
        db.execute(
            f"UPDATE projects SET extra_labels = extra_labels + 1 WHERE id = :p AND workspace_id = :w{cap}",
            {"p": project_id, "w": workspace_id, "b": policy.budget_labels},
        )
        == 1
    )


def refresh(db: Raw, workspace_id: int, task_id: int, schema: Schema, policy: QualityPolicy) -> None:
    """Recompute a task's stored consensus from its counted answers (after a review or a delete)."""
    if policy.adaptive:
        answers, accuracy = answers_with_accuracy(db, workspace_id, task_id, policy)
        values, confidence = task_consensus(schema.controls, answers, policy, accuracy)
    else:
        values, confidence = task_consensus(
            schema.controls, counted_answers(db, workspace_id, task_id), policy
        )
    json = "CAST(:c AS JSONB)" if db.is_postgres else ":c"
    db.execute(
        f"UPDATE tasks SET consensus = {json}, confidence = :cf WHERE id = :t AND workspace_id = :w",
        {
            "c": orjson.dumps(values).decode() if values else None,
            "cf": confidence,
            "t": task_id,
            "w": workspace_id,
        },
    )


def refresh_if_stored(db: Raw, workspace_id: int, task_id: int, project: Project) -> None:
    """Recompute a task's stored consensus when it has one, after its answers changed outside a
    submit or a review (a delete, a restore), so what exports and review read stays true."""
    row = db.first(
        "SELECT consensus FROM tasks WHERE id = :t AND workspace_id = :w", {"t": task_id, "w": workspace_id}
    )
    if row is not None and row[0] is not None:
        refresh(db, workspace_id, task_id, schemas.get(project), policy_of(project))
