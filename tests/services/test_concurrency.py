"""32 annotators hammer one project over real HTTP from real threads: overlap and no-duplicate
rules hold on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import httpx
from sqlalchemy import text

from labelhouse.runtime import Runtime
from tests.conftest import CHOICES_SCHEMA, make_person
from tests.live_server import serving

ANNOTATORS = 32
TASKS = 120
OVERLAP = 2


def test_32_annotators_never_exceed_overlap(rt: Runtime) -> None:
    owner = make_person(rt, "owner@acme.test")
    people = [make_person(rt, f"a{i}@acme.test", role="annotator") for i in range(ANNOTATORS)]
    errors: list[str] = []
    handed: list[tuple[int, int]] = []
    lock = threading.Lock()
    with serving(rt) as url:
        with httpx.Client(base_url=url, headers=owner.headers) as c:
            pid = c.post(
                "/api/v1/projects", json={"name": "race", "schema": CHOICES_SCHEMA, "overlap": OVERLAP}
            ).json()["id"]
            assert (
                c.post(
                    f"/api/v1/projects/{pid}/items", json=[{"text": f"t{i}"} for i in range(TASKS)]
                ).json()["created"]
                == TASKS
            )
        barrier = threading.Barrier(ANNOTATORS)

        def work(person) -> None:  # type: ignore[no-untyped-def]
            with httpx.Client(base_url=url, headers=person.headers, timeout=180) as c:
                barrier.wait()
                for _ in range(TASKS + 5):
                    r = c.post(f"/api/v1/projects/{pid}/next")
                    if r.status_code == 204:
                        return
                    if r.status_code != 200:
                        errors.append(f"next {r.status_code} {r.text}")
                        return
                    h = r.json()
                    with lock:
                        handed.append((h["task"]["id"], person.user_id))
                    s = c.post(
                        f"/api/v1/tasks/{h['task']['id']}/annotations",
                        json={
                            "answer": {"label": "pos"},
                            "lease_id": h["lease"]["id"],
                            "idempotency_key": str(uuid.uuid4()),
                        },
                    )
                    if s.status_code != 201:
                        errors.append(f"submit {s.status_code} {s.text}")

        threads = [threading.Thread(target=work, args=(p,)) for p in people]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert not errors, errors[:5]
    per_task = Counter(task for task, _user in handed)
    assert len(handed) == len(set(handed)), "a task was handed twice to one annotator"
    assert max(per_task.values()) <= OVERLAP
    with rt.db.session(write=False) as s:
        counts = s.execute(text("SELECT task_id, COUNT(*) FROM annotations GROUP BY task_id")).all()
        pairs = s.execute(
            text("SELECT COUNT(*), COUNT(DISTINCT task_id || '-' || user_id) FROM annotations")
        ).one()
    assert len(counts) == TASKS and all(n == OVERLAP for _t, n in counts)
    assert pairs[0] == pairs[1] == TASKS * OVERLAP
