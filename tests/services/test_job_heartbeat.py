"""A running job beats while a long step runs, so it is not taken for dead (re-queued after
``queue.STALE_AFTER`` and run a second time by another worker) in the middle of that step."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from labelhouse import worker
from labelhouse.jobs import queue
from labelhouse.runtime import Runtime
from labelhouse.services import accounts, projects, quality_jobs
from labelhouse.services.clock import aware, utcnow
from labelhouse.storage.tables import Job
from tests.conftest import CHOICES_SCHEMA, make_person


def test_a_long_step_keeps_beating(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = make_person(rt, "owner@acme.test")
    with rt.db.session() as s:
        actor = accounts.actor_for(s, owner.workspace_id, owner.user_id)
        pid = projects.create_project(
            s, actor, projects.ProjectSettings(name="beat", schema=CHOICES_SCHEMA), now=utcnow()
        ).id
        job_id = quality_jobs.start_recompute(s, actor, pid, method=None, now=utcnow()).id
    monkeypatch.setattr(queue, "BEAT_EVERY", timedelta(milliseconds=20))
    real_compute = quality_jobs.compute
    seen: list[Any] = []

    def heartbeat() -> Any:
        with rt.db.session(write=False) as s:
            return aware(s.get(Job, job_id).heartbeat_at)  # type: ignore[union-attr]

    def slow_compute(*args: Any, **kwargs: Any) -> Any:
        # one long step: no progress is reported while it runs, only beats move the heartbeat
        seen.append(heartbeat())
        deadline = time.monotonic() + 10
        while heartbeat() == seen[0] and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(heartbeat())
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(quality_jobs, "compute", slow_compute)
    assert worker.run_one(rt)
    assert seen[1] > seen[0]
    with rt.db.session(write=False) as s:
        job = s.get(Job, job_id)
        assert job is not None and job.state == "succeeded"
