"""Quality recompute as a background job: for projects too large to report on in a request, the
job computes the report with progress and stores it in its row; the report reads it from there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.jobs import queue
from labelhouse.security.permissions import allowed
from labelhouse.services import jobs
from labelhouse.services.projects import get_project, schemas
from labelhouse.services.quality import KIND, REPORTED, build_report
from labelhouse.storage.tables import Job, Project


def start_recompute(
    s: Session, actor: Actor, project_id: int, *, method: str | None, now: datetime, capped: bool = True
) -> Job:
    """Queue a recompute of the project's report (reviewers and above, as for reading it).

    While one with the same method is queued or running (and alive) that the actor may follow,
    that job is returned instead: a second click or a retried request follows it rather than computing the same
    report twice side by side (a large project's recompute takes minutes and gigabytes). A new
    one counts towards the caps on unfinished jobs (``capped``: the CLI on local state, which
    runs it at once, is not held up by them)."""
    from labelhouse.quality import get_method

    project = get_project(s, actor, project_id, "project.stats")
    chosen = get_method(method) if method else None  # a bad name fails now, not in the job
    params = {"method": chosen.name if chosen else None}
    pending = s.scalars(
        select(Job)
        .where(
            Job.project_id == project.id,
            Job.kind == KIND,
            or_(
                Job.state == "queued",
                and_(Job.state == "running", Job.heartbeat_at >= now - queue.STALE_AFTER),
            ),
        )
        .order_by(Job.id)
    ).all()
    for job in pending:
        # only one the actor may follow (services.jobs.get_job: their own, or any for managers)
        followable = job.created_by == actor.user_id or allowed(actor.role, "members.read")
        if followable and (job.params or {}).get("method") == params["method"]:
            return job
    if capped:
        jobs.check_fan_out(s, actor)
    return queue.enqueue(
        s,
        workspace_id=actor.workspace_id,
        project_id=project.id,
        kind=KIND,
        params=params,
        created_by=actor.user_id,
        now=now,
        total=steps(project),
    )


# Progress steps of reading the answers (a page of tasks at a time): the share read, in tenths.
LOAD_STEPS = 10


def steps(project: Project) -> int:
    """Progress steps of a recompute: ``LOAD_STEPS`` for reading, then one per reported control."""
    return LOAD_STEPS + sum(1 for c in schemas.get(project).controls if c.type in REPORTED)


def compute(
    s: Session,
    actor: Actor,
    project_id: int,
    method: str | None,
    *,
    now: datetime,
    on_step: Callable[[int, int], None],
) -> dict[str, Any]:
    """The job's work: the whole report, with no size limit, stamped with when it was computed.
    The job's creator is checked again (a member removed since queueing gets nothing).

    ``on_step(done, total)``: the total is counted again here, from the schema the report
    reads, so progress ends at 100 % even if controls were added or removed since queueing."""
    project = get_project(s, actor, project_id, "project.stats")
    total = steps(project)
    reported = [0]

    def loaded(fraction: float) -> None:
        step = int(fraction * LOAD_STEPS)
        if step > reported[0]:  # a write per tenth, not per page
            reported[0] = step
            on_step(step, total)

    report = build_report(
        s,
        project,
        method=method,
        limit=None,
        on_load=loaded,
        on_control=lambda done, _n: on_step(LOAD_STEPS + done, total),
    )
    on_step(total, total)  # no tasks to read, or no control to report: still done
    report["computed_at"] = now.isoformat()
    return report
