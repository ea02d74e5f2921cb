"""Rows to response bodies."""

from __future__ import annotations

from typing import Any

from labelhouse.services.annotations import AnnotationRow
from labelhouse.services.clock import aware
from labelhouse.services.projects import export_formats, policy_of, schemas
from labelhouse.services.quality import KIND as QUALITY_JOB
from labelhouse.storage.tables import Annotation, Job, Project


def project(p: Project) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "schema": p.schema,
        "overlap": p.overlap,
        "lease_seconds": p.lease_seconds,
        "gold_rate": p.gold_rate,
        "quality": policy_of(p).to_dict(),
        "exports": export_formats(schemas.get(p)),
        "created_at": aware(p.created_at),
        "updated_at": aware(p.updated_at),
    }


def annotation(a: Annotation | AnnotationRow) -> dict[str, Any]:
    return {
        "id": a.id,
        "task_id": a.task_id,
        "project_id": a.project_id,
        "annotator_id": a.user_id,
        "root_id": a.root_id,
        "version": a.version,
        "is_latest": a.is_latest,
        "answer": a.answer,
        "lead_time_s": a.lead_time_s,
        "created_at": aware(a.created_at),
    }


def job(j: Job) -> dict[str, Any]:
    result = j.result
    if j.kind == QUALITY_JOB and isinstance(result, dict):
        # the whole report stays in the row (tens of MB for a large project); followers of the
        # job read it once, from where the summary points
        result = {
            "project_id": result.get("project_id"),
            "method": result.get("method"),
            "computed_at": result.get("computed_at"),
            "report": f"/api/v1/projects/{j.project_id}/quality?stored=true",
        }
    return {
        "id": j.id,
        "kind": j.kind,
        "state": j.state,
        "project_id": j.project_id,
        "done": j.done,
        "total": j.total,
        "result": result,
        "error": j.error,
        "created_at": aware(j.created_at),
        "finished_at": aware(j.finished_at) if j.finished_at else None,
    }
