"""An idle worker's poll only reads: on SQLite it does not take the write lock that the server's
labeling loop waits for on the event loop; a queued or stale job is still claimed."""

from __future__ import annotations

import threading
from datetime import timedelta

from labelhouse import worker
from labelhouse.jobs import queue
from labelhouse.runtime import Runtime
from labelhouse.services.clock import utcnow
from labelhouse.storage.tables import Job
from tests.conftest import make_person


def test_an_idle_poll_does_not_wait_for_the_writer(rt: Runtime) -> None:
    ran: list[bool] = []
    with rt.db.session() as s:  # a writer is busy (SQLite: holds the write lock) meanwhile
        s.execute(Job.__table__.select().limit(1))
        poll = threading.Thread(target=lambda: ran.append(worker.run_one(rt)))
        poll.start()
        poll.join(timeout=5)
        finished = not poll.is_alive()
    poll.join()
    assert finished, "the idle poll waited for the writer"
    assert ran == [False]


def test_queued_and_stale_jobs_are_still_found(rt: Runtime) -> None:
    owner = make_person(rt, "owner@acme.test")
    now = utcnow()
    with rt.db.session() as s:
        assert not queue.any_to_claim(s, now=now)
        job = queue.enqueue(
            s,
            workspace_id=owner.workspace_id,
            project_id=None,
            kind="nothing",
            params={},
            created_by=None,
            now=now,
        )
        assert queue.any_to_claim(s, now=now)
        job.state = "running"
        job.heartbeat_at = now
        s.flush()
        assert not queue.any_to_claim(s, now=now)  # running and beating
        assert queue.any_to_claim(s, now=now + queue.STALE_AFTER + timedelta(seconds=1))  # taken for dead
