"""Each answer's share of its annotator's running record (``annotator_estimates``), kept on the
answer (``annotations.credit_correct`` / ``credit_counted``) so the record can be corrected.

The record of an annotator in a project is the sum of the credits of their answers that count
(latest version, not trashed, not rejected), plus whatever it held before migration 0011. Every
change of what counts moves the record by exactly that answer's credit, in the same transaction:

* a task that adaptive overlap lets go credits its answers with their posterior probability of
  being right (``record_task``); finishing again (after a reject reopened it) *replaces* the
  earlier credit instead of adding to it;
* a gold answer is credited at submit with exact 0/1 evidence, one per single-choice control the
  gold answer fills (``record_gold``), weighted like any other answer (see docs/quality.md);
* a rejected, trashed or edited answer stops counting: its credit is taken back (``leave``); a
  restored one that is not rejected counts again (``come_back``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labelhouse.quality.task import answer_fits
from labelhouse.storage.rawsql import Raw

# The answer of (task, annotator) that counts: at most one. Every statement here names the
# workspace too: an id of another workspace finds nothing (on SQLite this is the only wall).
_COUNTING = (
    "workspace_id = :w AND task_id = :t AND user_id = :u AND is_latest AND deleted_at IS NULL "
    "AND (review IS NULL OR review != 'rejected')"
)

# Add (correct, counted) minus what the counting answer of (task, annotator) holds already.
_ADD_DIFFERENCE = (
    "INSERT INTO annotator_estimates (workspace_id, project_id, user_id, correct, counted) "
    "SELECT p.workspace_id, :p, :u, :c - COALESCE(o.c, 0), :n - COALESCE(o.n, 0) FROM projects p, "
    f"(SELECT SUM(credit_correct) AS c, SUM(credit_counted) AS n FROM annotations WHERE {_COUNTING}) o "
    "WHERE p.id = :p AND p.workspace_id = :w "
    "ON CONFLICT (project_id, user_id) DO UPDATE SET "
    "correct = annotator_estimates.correct + excluded.correct, "
    "counted = annotator_estimates.counted + excluded.counted"
)

_ADD = (
    "INSERT INTO annotator_estimates (workspace_id, project_id, user_id, correct, counted) "
    "SELECT workspace_id, :p, :u, :c, :n FROM projects WHERE id = :p AND workspace_id = :w "
    "ON CONFLICT (project_id, user_id) DO UPDATE SET "
    "correct = annotator_estimates.correct + excluded.correct, "
    "counted = annotator_estimates.counted + excluded.counted"
)


def record_task(
    db: Raw, workspace_id: int, project_id: int, task_id: int, credit: Mapping[str, tuple[float, int]]
) -> None:
    """Set the credit of a finished task's counting answers to ``credit`` (annotator id ->
    (expected right, counted)) and move their records by the difference: two batches, annotators
    in a fixed order so concurrent submits lock the rows alike."""
    rows = [
        {"w": workspace_id, "p": project_id, "t": task_id, "u": int(who), "c": float(c), "n": float(n)}
        for who, (c, n) in sorted(credit.items(), key=lambda kv: int(kv[0]))
    ]
    if not rows:
        return
    db.executemany(_ADD_DIFFERENCE, rows)
    db.executemany(f"UPDATE annotations SET credit_correct = :c, credit_counted = :n WHERE {_COUNTING}", rows)


def gold_credit(
    controls: Sequence[Any], answer: Mapping[str, Any], gold: Mapping[str, Any] | None
) -> tuple[float, int]:
    """(right, counted) of an answer to a gold task: one per single-choice control the gold
    answer fills, right when the answer equals it (a gold answer that does not fit the control as
    it is now counts neither way, as in ``quality.task.gold_correct``). Other controls are not in
    the one-coin record."""
    right, counted = 0, 0
    for config in controls:
        if getattr(config, "type", None) != "choices" or getattr(config, "multiple", False):
            continue
        expected = (gold or {}).get(config.name)
        if expected is None or not answer_fits(config)(expected):
            continue  # no gold answer, or one made before the control changed type (D-06)
        counted += 1
        right += int(answer.get(config.name) == expected)
    return float(right), counted


def record_gold(
    db: Raw,
    *,
    workspace_id: int,
    project_id: int,
    annotation_id: int,
    user_id: int,
    controls: Sequence[Any],
    answer: Mapping[str, Any],
    gold: Mapping[str, Any] | None,
) -> tuple[float, int]:
    """Credit a just-submitted answer to a gold task (same transaction as the submit): ``gold``
    is the task's gold answer, decoded, as the caller read it with the task (None: not a gold
    task, nothing to credit). Returns what it added."""
    right, counted = gold_credit(controls, answer, gold)
    if counted:
        w = {"w": workspace_id}
        db.execute(
            "UPDATE annotations SET credit_correct = :c, credit_counted = :n WHERE id = :a AND workspace_id = :w",
            {**w, "c": right, "n": float(counted), "a": annotation_id},
        )
        db.execute(_ADD, {**w, "p": project_id, "u": user_id, "c": right, "n": float(counted)})
    return right, counted


def leave(db: Raw, workspace_id: int, annotation_id: int) -> None:
    """Take an answer's credit (any version of it may be named) out of its annotator's record,
    if the answer counts now. Call it
    *before* the change that stops it counting (reject, trash, a new version), so that a second
    call, or one on an answer that no longer counts, changes nothing."""
    _move(db, workspace_id, annotation_id, -1.0)


def come_back(db: Raw, workspace_id: int, annotation_id: int) -> None:
    """Put an answer's credit back into its annotator's record, if the answer counts now (after
    a restore from the trash; a rejected answer stays out)."""
    _move(db, workspace_id, annotation_id, 1.0)


def _move(db: Raw, workspace_id: int, annotation_id: int, sign: float) -> None:
    # the counting version of the answer ``annotation_id`` is a version of (found by its task and
    # annotator: annotations are indexed by task)
    row = db.first(
        "SELECT a.project_id, a.user_id, a.credit_correct, a.credit_counted FROM annotations x "
        "JOIN annotations a ON a.task_id = x.task_id AND a.user_id = x.user_id "
        "WHERE x.id = :a AND x.workspace_id = :w "
        "AND a.is_latest AND a.deleted_at IS NULL AND (a.review IS NULL OR a.review != 'rejected') "
        "AND a.credit_counted IS NOT NULL",
        {"a": annotation_id, "w": workspace_id},
    )
    if row is None:
        return
    project_id, user_id, correct, counted = row
    db.execute(
        _ADD,
        {
            "w": workspace_id,
            "p": project_id,
            "u": user_id,
            "c": sign * float(correct),
            "n": sign * float(counted),
        },
    )
