"""The quality recompute job through the API, on SQLite and PostgreSQL: a second request while
one is queued or running gets that job rather than a second computation of the same report;
progress ends at its total; a job that cannot run ends failed with an error that says why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from labelhouse.api.app import create_app
from labelhouse.jobs import queue
from labelhouse.runtime import Runtime
from labelhouse.services.clock import utcnow
from labelhouse.worker import run_one
from tests.api.test_quality_controls import _all_pos
from tests.conftest import Person


@pytest.fixture
def idle(rt: Runtime) -> Iterator[TestClient]:
    """The app with no job thread: jobs stay queued until the test runs them."""
    with TestClient(create_app(rt, run_jobs=False)) as c:
        yield c


def _recompute(c: TestClient, who: Person, pid: int, query: str = "") -> dict[str, object]:
    r = c.post(f"/api/v1/projects/{pid}/quality/recompute{query}", headers=who.headers)
    assert r.status_code == 202, r.text
    out: dict[str, object] = r.json()
    return out


def test_a_second_request_while_one_is_pending_gets_that_job(
    idle: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _all_pos(idle, owner, rt, "twice", 4, ("a1", "a2"))
    first = _recompute(idle, owner, pid)
    assert _recompute(idle, owner, pid)["id"] == first["id"]  # queued: the same job
    other = _recompute(idle, owner, pid, "?method=mv")  # another method is another report
    assert other["id"] != first["id"]
    with rt.db.session() as s:  # a worker takes the first one: running now
        claimed = queue.claim_next(s, now=utcnow(), skip_locked=rt.skip_locked)
        assert claimed is not None and claimed.id == first["id"]
    again = _recompute(idle, owner, pid)
    assert again["id"] == first["id"] and again["state"] == "running"
    with rt.db.session() as s:
        queue.finish(s, int(str(first["id"])), now=utcnow(), result={"project_id": pid})
    # once it has ended, asking again starts a fresh one
    assert _recompute(idle, owner, pid)["id"] not in (first["id"], other["id"])


def test_the_cli_does_not_run_a_recompute_a_worker_is_running(
    idle: TestClient, owner: Person, rt: Runtime
) -> None:
    from click.testing import CliRunner

    from labelhouse.cli.main import main

    pid = _all_pos(idle, owner, rt, "cli", 2, ("a1", "a2"))
    job = _recompute(idle, owner, pid)
    with rt.db.session() as s:
        assert queue.claim_next(s, now=utcnow(), skip_locked=rt.skip_locked) is not None
    state = ["--data", str(rt.settings.data_dir)]
    if rt.settings.database_url:
        state += ["--database-url", rt.settings.database_url]
    out = CliRunner().invoke(main, ["quality", "recompute", str(pid), *state])
    assert out.exit_code != 0 and f"job {job['id']} is already recomputing" in out.output, out.output


def _job(c: TestClient, who: Person, job_id: object) -> dict[str, object]:
    out: dict[str, object] = c.get(f"/api/v1/jobs/{job_id}", headers=who.headers).json()
    return out


def test_progress_ends_at_its_total_when_the_schema_changed_after_queueing(
    idle: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _all_pos(idle, owner, rt, "grown", 3, ("a1", "a2"))
    job = _recompute(idle, owner, pid)
    assert (job["done"], job["total"]) == (0, 11)  # ten steps of reading, one control
    schema = {
        "controls": [
            {"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]},
            {"name": "stars", "type": "rating", "min": 1, "max": 5},
        ]
    }
    assert (
        idle.patch(f"/api/v1/projects/{pid}", json={"schema": schema}, headers=owner.headers).status_code
        == 200
    )
    seen: list[tuple[int, int]] = []
    original = queue.progress

    def spy(s, job_id, done, **kw):  # type: ignore[no-untyped-def]
        original(s, job_id, done, **kw)
        found = s.get(queue.Job, job_id)
        seen.append((found.done, found.total))

    queue.progress, saved = spy, queue.progress  # type: ignore[assignment]
    try:
        assert run_one(rt)
    finally:
        queue.progress = saved  # type: ignore[assignment]
    ended = _job(idle, owner, job["id"])
    assert ended["state"] == "succeeded", ended
    assert (ended["done"], ended["total"]) == (12, 12)  # two controls now
    assert all(0 <= done <= total for done, total in seen) and seen, seen


def test_a_job_whose_project_went_away_fails_saying_so(idle: TestClient, owner: Person, rt: Runtime) -> None:
    pid = _all_pos(idle, owner, rt, "gone", 2, ("a1", "a2"))
    job = _recompute(idle, owner, pid)
    assert idle.delete(f"/api/v1/projects/{pid}", headers=owner.headers).status_code == 204
    assert run_one(rt)
    with rt.db.session() as s:
        ended = s.get(queue.Job, int(str(job["id"])))
        assert ended is not None and ended.state == "failed"
        assert ended.error == f"project {pid} not found", ended.error


def test_a_pending_job_is_shared_only_with_those_who_may_follow_it(
    idle: TestClient, owner: Person, rt: Runtime
) -> None:
    from tests.conftest import make_person

    pid = _all_pos(idle, owner, rt, "shared", 2, ("a1", "a2"))
    r1, r2 = (make_person(rt, f"{n}@acme.test", role="reviewer") for n in ("r1", "r2"))
    mine = _recompute(idle, r1, pid)
    # a reviewer follows only the jobs they started: r2 gets one of their own, which they can read
    theirs = _recompute(idle, r2, pid)
    assert theirs["id"] != mine["id"]
    assert idle.get(f"/api/v1/jobs/{theirs['id']}", headers=r2.headers).status_code == 200
    # a manager follows every job: the owner gets the first pending one
    assert _recompute(idle, owner, pid)["id"] == mine["id"]
    assert idle.get(f"/api/v1/jobs/{mine['id']}", headers=owner.headers).status_code == 200


def test_recompute_jobs_count_towards_the_cap_on_open_jobs(
    idle: TestClient, owner: Person, rt: Runtime
) -> None:
    # ATTACKS R-07: a user may have MAX_OPEN_PER_USER jobs queued or running; recomputes with
    # other methods or of other projects are new jobs and were not counted
    from labelhouse.quality import method_names
    from labelhouse.services import jobs

    pid = _all_pos(idle, owner, rt, "many", 2, ("a1", "a2"))
    names = list(method_names())
    assert len(names) > jobs.MAX_OPEN_PER_USER
    codes = [
        idle.post(f"/api/v1/projects/{pid}/quality/recompute?method={m}", headers=owner.headers).status_code
        for m in names[: jobs.MAX_OPEN_PER_USER + 1]
    ]
    assert codes == [202] * jobs.MAX_OPEN_PER_USER + [429]
    # asking again for a pending one is not a new job: still answered
    assert _recompute(idle, owner, pid, f"?method={names[0]}")["state"] == "queued"


def test_following_a_recompute_does_not_download_the_report_with_the_job(
    idle: TestClient, owner: Person, rt: Runtime
) -> None:
    # the job's row holds the whole report (tens of megabytes for a project of millions of
    # answers); the page and the SDK poll /jobs/{id}, then read ?stored=true: the last poll
    # carried the report too, twice the transfer for nothing
    pid = _all_pos(idle, owner, rt, "light", 3, ("a1", "a2"))
    job = _recompute(idle, owner, pid)
    assert run_one(rt)
    ended = idle.get(f"/api/v1/jobs/{job['id']}", headers=owner.headers).json()
    assert ended["state"] == "succeeded"
    stored = idle.get(f"/api/v1/projects/{pid}/quality?stored=true", headers=owner.headers).json()
    assert ended["result"] == {
        "project_id": pid,
        "method": stored["method"],
        "computed_at": stored["computed_at"],
        "report": f"/api/v1/projects/{pid}/quality?stored=true",
    }
    assert stored["job_id"] == job["id"] and stored["controls"]["label"]["tasks"] == 3


def test_a_project_id_out_of_range_is_a_clear_client_error(idle: TestClient, owner: Person) -> None:
    """Found by the OpenAPI fuzz: the id reached the database (a 500 on both) before it was
    checked; it is a path parameter like any other project id now."""
    r = idle.post("/api/v1/projects/3001309605032849047552/quality/recompute", headers=owner.headers)
    assert r.status_code in (404, 422), r.text
