"""The job edge: take queued jobs from the table and run them, in a thread or a process."""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from labelhouse.core.errors import LabelhouseError
from labelhouse.formats.registry import get_reader
from labelhouse.jobs import queue
from labelhouse.runtime import Runtime
from labelhouse.security import logsafe
from labelhouse.services import items as item_service
from labelhouse.services.accounts import actor_for
from labelhouse.services.clock import utcnow
from labelhouse.storage.tables import Job

log = logsafe.logger("labelhouse.worker")


def run_one(rt: Runtime) -> bool:
    """Run the oldest queued job, if any. Returns whether one ran."""
    with rt.db.session(write=False) as s:
        if not queue.any_to_claim(s, now=utcnow()):
            return False
    with rt.db.session() as s:
        job = queue.claim_next(s, now=utcnow(), skip_locked=rt.skip_locked)
        if job is None:
            return False
        s.expunge(job)
    run_claimed(rt, job)
    return True


def run_claimed(rt: Runtime, job: Job) -> None:
    """Run a job this process holds (state running) and record how it ended.

    A thread beats for it meanwhile: one step of a job can outlast ``queue.STALE_AFTER`` (a
    quality recompute's inference over millions of answers), and a job that stops beating is
    taken for dead and handed to another worker, which would run it a second time."""
    stop = threading.Event()
    beater = threading.Thread(target=_beat, args=(rt, job.id, stop), name=f"job-{job.id}-beat", daemon=True)
    beater.start()
    try:
        _run(rt, job)
    finally:
        stop.set()
        beater.join()


def _beat(rt: Runtime, job_id: int, stop: threading.Event) -> None:
    while not stop.wait(queue.BEAT_EVERY.total_seconds()):
        try:
            with rt.db.session() as s:
                queue.beat(s, job_id, now=utcnow())
        except Exception:  # a missed beat is not the job's failure; the next one may pass
            log.warning("job %s heartbeat failed: %s", job_id, traceback.format_exc())


def _run(rt: Runtime, job: Job) -> None:
    try:
        result = _HANDLERS[job.kind](rt, job)
    except LabelhouseError as exc:
        _finish(rt, job.id, error=exc.message)
    except Exception as exc:  # a job must end as failed, never vanish
        log.error("job %s failed: %s", job.id, traceback.format_exc())
        # The job's error is shown to users: the detail stays in the server log (I-16).
        _finish(rt, job.id, error=f"internal error ({exc.__class__.__name__}); the server log has the detail")
    else:
        _finish(rt, job.id, result=result)


def _finish(rt: Runtime, job_id: int, *, result: object = None, error: str | None = None) -> None:
    with rt.db.session() as s:
        queue.finish(s, job_id, now=utcnow(), result=result, error=error)


def _import(rt: Runtime, job: Job) -> dict[str, object]:
    path = Path(job.params["path"])
    with rt.db.session(write=False) as s:
        actor = actor_for(s, job.workspace_id, job.created_by or 0)
    reader = get_reader(job.params["reader"])

    def progress(rows: int, result: item_service.ImportResult) -> None:
        with rt.db.session() as s:
            queue.progress(s, job.id, rows, now=utcnow(), result=result.to_dict())

    try:
        with path.open("rb") as stream:
            result = item_service.import_stream(
                rt.db.session,
                actor,
                job.project_id or 0,
                reader.read(stream),
                blobs=rt.blobs,
                now=utcnow,
                on_progress=progress,
                outbound=rt.outbound,
                quota_mb=rt.settings.workspace_quota_mb,
            )
    finally:
        path.unlink(missing_ok=True)
    return result.to_dict()


def _quality(rt: Runtime, job: Job) -> dict[str, object]:
    """Recompute a project's quality report; progress counts controls (see services.quality_jobs)."""
    from labelhouse.services import quality_jobs

    def step(done: int, total: int) -> None:
        with rt.db.session() as s:
            queue.progress(s, job.id, done, now=utcnow(), total=total)

    with rt.db.session(write=False) as s:
        actor = actor_for(s, job.workspace_id, job.created_by or 0)
        return quality_jobs.compute(
            s, actor, job.project_id or 0, job.params.get("method"), now=utcnow(), on_step=step
        )


_HANDLERS = {"import": _import, "quality": _quality}


class JobThread(threading.Thread):
    """Runs jobs inside ``serve``; ``wake()`` starts work at once instead of at the next poll."""

    def __init__(self, rt: Runtime, poll_seconds: float = 2.0) -> None:
        super().__init__(name="labelhouse-jobs", daemon=True)
        self.rt = rt
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                while run_one(self.rt) and not self._stop.is_set():
                    pass
            except Exception:
                log.error("job loop error: %s", traceback.format_exc())
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
