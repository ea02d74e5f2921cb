"""Jobs as users see them: start an import job, follow a job's progress."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import NotFound, TooMany
from labelhouse.jobs import queue
from labelhouse.security.permissions import allowed, require
from labelhouse.services.projects import get_project
from labelhouse.storage.tables import Job

# Unfinished jobs one user, and one workspace, may have at once (ATTACKS R-07): a flood of
# imports waits at the door instead of filling the queue ahead of other workspaces' jobs.
MAX_OPEN_PER_USER = 5
MAX_OPEN_PER_WORKSPACE = 20


def check_fan_out(s: Session, actor: Actor) -> None:
    """TooMany when the actor, or their workspace, has as many unfinished jobs as it may."""
    open_jobs = (Job.workspace_id == actor.workspace_id) & Job.state.in_(("queued", "running"))
    mine, ours = s.execute(
        select(
            func.count().filter(Job.created_by == actor.user_id),
            func.count(),
        ).where(open_jobs)
    ).one()
    if mine >= MAX_OPEN_PER_USER:
        raise TooMany(
            f"you have {mine} jobs queued or running, the most one user may have; "
            "wait for one to finish (GET /jobs/{id})",
            details={"retry_after": 10},
        )
    if ours >= MAX_OPEN_PER_WORKSPACE:
        raise TooMany(
            f"this workspace has {ours} jobs queued or running, the most it may have; wait for one to finish",
            details={"retry_after": 10},
        )


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
    check_fan_out(s, actor)
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
