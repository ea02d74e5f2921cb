"""Jobs as users see them: start an import job, follow a job's progress."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import NotFound
from labelhouse.jobs import queue
from labelhouse.security.permissions import allowed, require
from labelhouse.services.projects import get_project
from labelhouse.storage.tables import Job


def start_import(
    s: Session,
    actor: Actor,
    project_id: int,
    upload: Path,
    reader: str,
    *,
    now: datetime,
    size: int | None = None,
) -> Job:
    project = get_project(s, actor, project_id, "items.import")
    return queue.enqueue(
        s,
        workspace_id=actor.workspace_id,
        project_id=project.id,
        kind="import",
        params={"path": str(upload), "reader": reader, "bytes": size},
        created_by=actor.user_id,
        now=now,
    )


def get_job(s: Session, actor: Actor, job_id: int) -> Job:
    require(actor, "jobs.read")
    job = s.get(Job, job_id)
    if job is None or job.workspace_id != actor.workspace_id:
        raise NotFound(f"job {job_id} not found")
    if job.created_by != actor.user_id and not allowed(actor.role, "members.read"):
        raise NotFound(f"job {job_id} not found")
    return job
