"""Exports: stream a project's tasks with their latest annotations through a format writer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from labelhouse.controls import Schema
from labelhouse.core.actor import Actor
from labelhouse.formats import ExportAnnotation, ExportRecord, get_writer
from labelhouse.formats.base import Writer
from labelhouse.quality.task import answer_fits
from labelhouse.services import audit
from labelhouse.services.clock import aware
from labelhouse.services.collector import fewer_collections
from labelhouse.services.item_data import vault_of
from labelhouse.services.projects import get_project, schemas
from labelhouse.storage.rawsql import Raw, json_value

PAGE = 2000


@dataclass(frozen=True)
class ExportPlan:
    project_id: int
    project_name: str
    writer: Writer
    schema: Schema
    total_tasks: int


def plan_export(s: Session, actor: Actor, project_id: int, fmt: str, *, now: datetime) -> ExportPlan:
    """Check and describe an export, and record it in the audit log (needs a write unit)."""
    project = get_project(s, actor, project_id, "export")
    writer = get_writer(fmt)
    vault_of(s).check(actor.workspace_id)  # a missing key fails here, not mid-stream
    audit.record(
        s,
        actor.workspace_id,
        "export",
        f"project:{project.id}",
        actor=actor,
        details={"format": fmt},
        now=now,
    )
    total = s.execute(
        text(
            "SELECT COUNT(*) FROM tasks WHERE project_id = :p AND state != 'trashed' AND done > 0 AND NOT is_gold"
        ),
        {"p": project.id},
    ).scalar_one()
    return ExportPlan(project.id, project.name, writer, schemas.get(project), int(total))


def iter_records(
    read_unit: Callable[[], AbstractContextManager[Session]],
    plan: ExportPlan,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[ExportRecord]:
    """Tasks with at least one annotation, a page at a time, each page its own short read.

    Memory stays flat: one page of records lives at a time. Each page is consistent in itself;
    annotations submitted while the export runs land in it if their task's page is not yet read.
    """
    after = 0
    emails: dict[int, str] = {}
    sent = 0
    fits = {config.name: answer_fits(config) for config in plan.schema.controls}  # once, not per task
    while True:
        with read_unit() as s:
            vault = vault_of(s)
            # On the driver's cursor: SQLAlchemy's rows cost a fifth of a large export's time, and
            # nothing here needs its type processing (text SQL returns the driver's values anyway).
            raw = Raw.of(s)
            tasks = raw.all(
                "SELECT t.id, t.item_id, i.data, i.workspace_id, i.content_hash, t.consensus FROM tasks t "
                "JOIN items i ON i.id = t.item_id "
                "WHERE t.project_id = :p AND t.id > :after AND t.state != 'trashed' AND t.done > 0 "
                "AND NOT t.is_gold ORDER BY t.id LIMIT :n",
                {"p": plan.project_id, "after": after, "n": PAGE},
            )
            if not tasks:
                return
            first, last = tasks[0][0], tasks[-1][0]
            rows = raw.all(
                "SELECT task_id, id, user_id, answer, version, created_at, lead_time_s, review FROM annotations "
                "WHERE project_id = :p AND task_id BETWEEN :a AND :b AND is_latest AND deleted_at IS NULL "
                "ORDER BY task_id, id",
                {"p": plan.project_id, "a": first, "b": last},
            )
            missing = {r[2] for r in rows} - emails.keys()
            if missing:
                for uid, email in s.execute(
                    text(
                        "SELECT id, email FROM users WHERE id IN ("
                        + ",".join(str(int(u)) for u in missing)
                        + ")"
                    )
                ):
                    emails[uid] = email
        by_task: dict[int, list[ExportAnnotation]] = {}
        rejected: set[int] = set()
        for task_id, ann_id, user_id, answer, version, created, lead, review in rows:
            by_task.setdefault(task_id, []).append(
                ExportAnnotation(
                    id=ann_id,
                    annotator=emails.get(user_id, str(user_id)),
                    answer=json_value(answer),
                    version=version,
                    created_at=aware(created),
                    lead_time_s=lead,
                )
            )
            if review == "rejected":
                rejected.add(ann_id)
        for task_id, item_id, data, workspace_id, digest, stored in tasks:
            annotations = by_task.get(task_id)
            if annotations:
                counting = [a for a in annotations if a.id not in rejected] if rejected else annotations
                yield ExportRecord(
                    task_id,
                    item_id,
                    vault.open_item(workspace_id, plan.project_id, digest, data),
                    tuple(annotations),
                    consensus_of(
                        plan.schema, counting, json_value(stored) if stored is not None else None, fits
                    ),
                )
        after = last
        sent += len(tasks)
        if on_progress is not None:
            on_progress(sent)


def consensus_of(
    schema: Schema,
    annotations: list[ExportAnnotation],
    stored: dict[str, Any] | None = None,
    fits: Mapping[str, Callable[[Any], bool]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each control's consensus over a task's counted annotations (rejected ones left out; so
    are answers that do not fit a control as it is now, ``fits`` per control name when the
    caller made them once for many tasks).

    ``stored`` is the task's stored consensus (``tasks.consensus``, written when the task
    completed or a review changed it; weighted by the annotators' estimated accuracy under
    adaptive overlap): a control's entry is taken from it (``method: "stored"``, with its
    ``posterior`` where it has one) when it rests on as many answers as the export has, so the
    export gives the label the product decided on. Otherwise (no stored consensus yet, or stale)
    the control's rule runs unweighted (``method: "computed"``). One annotation is its own
    consensus (confidence 1, n 1): most exports are overlap 1, and the rules cost tens of
    microseconds a task, so they run only where several answers meet.
    """
    out: dict[str, dict[str, Any]] = {}
    for config in schema.controls:
        # answers made before the control changed type stay out (D-06)
        fit = fits[config.name] if fits is not None else answer_fits(config)
        answers = [
            (a.annotator, a.answer[config.name]) for a in annotations if fit(a.answer.get(config.name))
        ]
        if not answers:
            continue
        kept = (stored or {}).get(config.name)
        if isinstance(kept, dict) and kept.get("n") == len(answers) and "value" in kept:
            kept["method"] = "stored"  # the decoded copy is this call's own
            out[config.name] = kept
            continue
        if len(answers) == 1:
            out[config.name] = {"value": answers[0][1], "confidence": 1.0, "n": 1, "method": "computed"}
            continue
        from labelhouse.quality.consensus import consensus  # numpy/scipy: loaded on first need

        found = consensus(config, answers)
        out[config.name] = {
            "value": found.value,
            "confidence": round(found.confidence, 4),
            "n": found.n,
            "method": "computed",
        }
    return out


def stream(
    read_unit: Callable[[], AbstractContextManager[Session]],
    plan: ExportPlan,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    return _with_fewer_collections(
        plan.writer.write(iter_records(read_unit, plan, on_progress=on_progress), plan.schema)
    )


def _with_fewer_collections(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A page of records outlives many young collections (``services.collector``): 12-20 % of
    an export's CPU went to the collector with the default threshold."""
    with fewer_collections():
        yield from chunks
