"""A project's quality report: truth inference over its single-choice controls, annotator
reliability (estimated, and exact from gold tasks), and agreement."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import TooLarge
from labelhouse.services.projects import get_project, policy_of, schemas
from labelhouse.storage.rawsql import json_value
from labelhouse.storage.tables import Project

MAX_ANSWERS = 2_000_000
LOW_CONFIDENCE = 0.8


def wilson(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion: sound for small counts and for 0 or 100%."""
    if total == 0:
        return (0.0, 1.0)
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def project_quality(
    s: Session, actor: Actor, project_id: int, *, method: str | None = None
) -> dict[str, Any]:
    from labelhouse.quality import DEFAULT_METHOD, Answers, get_method
    from labelhouse.quality.agreement import krippendorff_alpha

    project = get_project(s, actor, project_id, "project.stats")
    chosen = get_method(method or DEFAULT_METHOD)
    schema = schemas.get(project)
    single = [c for c in schema.by_type("choices") if not getattr(c, "multiple", False)]
    count = s.execute(
        text("SELECT COUNT(*) FROM annotations WHERE project_id = :p AND is_latest AND deleted_at IS NULL"),
        {"p": project.id},
    ).scalar_one()
    if count > MAX_ANSWERS:
        raise TooLarge(f"the project has {count} annotations; the report handles up to {MAX_ANSWERS} at once")
    rows = s.execute(
        text(
            "SELECT a.task_id, u.email, a.answer, t.is_gold, t.gold_answer FROM annotations a "
            "JOIN tasks t ON t.id = a.task_id JOIN users u ON u.id = a.user_id "
            "WHERE a.project_id = :p AND a.is_latest AND a.deleted_at IS NULL AND t.state != 'trashed' "
            "AND (a.review IS NULL OR a.review != 'rejected')"
        ),
        {"p": project.id},
    ).all()
    controls: dict[str, Any] = {}
    for config in single:
        triples: list[tuple[str, str, str]] = []
        gold: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for task_id, email, answer, is_gold, gold_answer in rows:
            value = json_value(answer).get(config.name)
            if value is None:
                continue
            if is_gold:
                expected = (json_value(gold_answer) or {}).get(config.name)
                if expected is not None:
                    gold[email][0] += int(value == expected)
                    gold[email][1] += 1
                continue
            triples.append((str(task_id), email, str(value)))
        options = list(getattr(config, "options", []))
        answers = Answers.from_triples(triples, classes=options)
        result = chosen.infer(answers, seed=0)
        confidence: Any = result.confidence if answers.n_tasks else []
        per_worker: dict[str, int] = defaultdict(int)
        for _t, email, _v in triples:
            per_worker[email] += 1
        annotators = []
        for index, email in enumerate(answers.workers):
            correct, total = gold.get(email, [0, 0])
            annotators.append(
                {
                    "annotator": email,
                    "answers": per_worker[email],
                    "reliability": round(float(result.reliability[index]), 4),
                    "gold": {
                        "answered": total,
                        "correct": correct,
                        "accuracy": correct / total if total else None,
                        "ci95": [round(x, 4) for x in wilson(correct, total)],
                    },
                }
            )
        for email, (correct, total) in gold.items():
            if email not in answers.workers:
                annotators.append(
                    {
                        "annotator": email,
                        "answers": 0,
                        "reliability": None,
                        "gold": {
                            "answered": total,
                            "correct": correct,
                            "accuracy": correct / total,
                            "ci95": [round(x, 4) for x in wilson(correct, total)],
                        },
                    }
                )
        labels: Any = result.labels if answers.n_tasks else []
        controls[config.name] = {
            "method": chosen.name,
            "tasks": answers.n_tasks,
            "answers": len(triples),
            "mean_confidence": float(sum(confidence) / len(confidence)) if len(confidence) else None,
            "low_confidence_tasks": int(sum(1 for c in confidence if c < LOW_CONFIDENCE)),
            "krippendorff_alpha": _finite(krippendorff_alpha([(t, w, v) for t, w, v in triples], "nominal"))
            if triples
            else None,
            "consensus": [
                {
                    "task_id": int(task),
                    "label": answers.classes[int(labels[i])],
                    "confidence": round(float(confidence[i]), 4),
                }
                for i, task in enumerate(answers.tasks)
            ],
            "annotators": sorted(annotators, key=lambda a: a["annotator"]),
        }
    return {"project_id": project.id, "controls": controls, "adaptive": adaptive_figures(s, project)}


def adaptive_figures(s: Session, project: Project) -> dict[str, Any]:
    """Labels spent and saved by adaptive overlap: saved is, over complete tasks, what a fixed
    overlap of ``max_labels`` would have cost minus what they took."""
    policy = policy_of(project)
    row = s.execute(
        text(
            "SELECT COUNT(*), COALESCE(SUM(done), 0), "
            "COALESCE(SUM(CASE WHEN state = 'complete' THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN state = 'complete' THEN done ELSE 0 END), 0) "
            "FROM tasks WHERE project_id = :p AND is_gold = :no AND state != 'trashed'"
        ),
        {"p": project.id, "no": False},
    ).one()
    tasks, labels, complete, labels_complete = (int(v) for v in row)
    saved = complete * policy.max_labels - labels_complete if policy.adaptive else 0
    cost = policy.label_cost
    return {
        "enabled": policy.adaptive,
        "target_confidence": policy.target_confidence,
        "min_labels": policy.min_labels,
        "max_labels": policy.max_labels,
        "budget_labels": policy.budget_labels,
        "extra_labels": int(project.extra_labels or 0),
        "tasks": tasks,
        "complete_tasks": complete,
        "labels": labels,
        "labels_saved": saved,
        "spent": None if cost is None else round(labels * cost, 4),
        "saved": None if cost is None else round(saved * cost, 4),
    }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 4)
