"""The job table as a queue. Claims are atomic (SKIP LOCKED on PostgreSQL, one writer on SQLite)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.storage.tables import Job

# A running job whose worker has not reported for this long is taken to be dead and re-queued.
STALE_AFTER = timedelta(minutes=5)
# How often a worker beats for a running job (worker.run_claimed), whatever its steps' length.
BEAT_EVERY = timedelta(seconds=60)


def enqueue(
    s: Session,
    *,
    workspace_id: int,
    project_id: int | None,
    kind: str,
    params: dict[str, Any],
    created_by: int | None,
    now: datetime,
    total: int | None = None,
) -> Job:
    job = Job(
        workspace_id=workspace_id,
        project_id=project_id,
        kind=kind,
        state="queued",
        params=params,
        done=0,
        total=total,
        created_by=created_by,
        created_at=now,
    )
    s.add(job)
    s.flush()
    return job


def any_to_claim(s: Session, *, now: datetime) -> bool:
    """Whether ``claim_next`` would find a job: a read, so that an idle worker's poll does not
    take SQLite's write lock (on the server the labeling loop waits for it on the event loop)."""
    found = s.execute(
        text(
            "SELECT 1 FROM jobs WHERE state = 'queued' OR (state = 'running' AND heartbeat_at < :cut) LIMIT 1"
        ),
        {"cut": now - STALE_AFTER},
    ).first()
    return found is not None


def claim_next(s: Session, *, now: datetime, skip_locked: bool) -> Job | None:
    s.execute(
        text("UPDATE jobs SET state = 'queued' WHERE state = 'running' AND heartbeat_at < :cut"),
        {"cut": now - STALE_AFTER},
    )
    query = select(Job).where(Job.state == "queued").order_by(Job.id).limit(1)
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    job = s.scalars(query).first()
    if job is None:
        return None
    job.state = "running"
    job.started_at = now
    job.heartbeat_at = now
    s.flush()
    return job


def progress(
    s: Session, job_id: int, done: int, *, now: datetime, result: Any = None, total: int | None = None
) -> None:
    """Record a running job's progress (``total``: the steps it now knows it has, when that
    changed since it was queued)."""
    job = s.get(Job, job_id)
    if job is None:
        return
    job.done = done
    if total is not None:
        job.total = total
    job.heartbeat_at = now
    if result is not None:
        job.result = result
    s.flush()


def beat(s: Session, job_id: int, *, now: datetime) -> None:
    """The worker is alive: a running job's heartbeat, with no progress to report."""
    s.execute(
        text("UPDATE jobs SET heartbeat_at = :now WHERE id = :j AND state = 'running'"),
        {"now": now, "j": job_id},
    )


def finish(s: Session, job_id: int, *, now: datetime, result: Any = None, error: str | None = None) -> None:
    job = s.get(Job, job_id)
    if job is None:
        return
    job.state = "failed" if error else "succeeded"
    job.error = error
    if result is not None:
        job.result = result
    job.finished_at = now
    s.flush()
