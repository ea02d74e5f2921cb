"""Adaptive overlap with per-annotator estimates, through the API on both databases: a finished
task credits its annotators' records (hand-checked numbers), and a record changes the decision."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.runtime import Runtime
from tests.api.test_review import label
from tests.conftest import CHOICES_SCHEMA, make_person


def _project(client: TestClient, headers: dict[str, str], policy: dict[str, Any], n_items: int) -> int:
    created = client.post(
        "/api/v1/projects",
        json={"name": "adaptive-reliability", "schema": CHOICES_SCHEMA, "quality": policy},
        headers=headers,
    ).json()
    items = [{"text": f"t{i}"} for i in range(n_items)]
    client.post(f"/api/v1/projects/{created['id']}/items", json=items, headers=headers)
    return int(created["id"])


def _records(rt: Runtime, pid: int) -> dict[int, tuple[float, float]]:
    with rt.db.session() as s:
        rows = s.execute(
            text("SELECT user_id, correct, counted FROM annotator_estimates WHERE project_id = :p"),
            {"p": pid},
        ).all()
    return {int(u): (float(c), float(n)) for u, c, n in rows}


def test_a_finished_task_credits_its_annotators(client: TestClient, rt: Runtime) -> None:
    owner = make_person(rt, "owner@acme.test")
    pid = _project(client, owner.headers, {"target_confidence": 0.99, "min_labels": 2, "max_labels": 2}, 2)
    a = make_person(rt, "a@acme.test", role="annotator")
    b = make_person(rt, "b@acme.test", role="annotator")
    assert label(client, a, pid, lambda it: "pos") == [1, 2]
    assert _records(rt, pid) == {}  # nothing is finished yet
    assert label(client, b, pid, lambda it: "pos" if it["text"] == "t0" else "neg") == [1, 2]
    # task 1: both say pos, both at the assumed 0.7: P(pos) = .49 / (.49 + .09) for each answer.
    first = 0.49 / 0.58
    # task 2 then reads the records: both at (first + 4 * 0.7) / 5; they disagree, so 1/2 each.
    records = _records(rt, pid)
    assert set(records) == {a.user_id, b.user_id}
    for who in (a, b):
        correct, counted = records[who.user_id]
        assert abs(correct - (first + 0.5)) < 1e-9 and counted == 2
    with rt.db.session() as s:
        rows = s.execute(
            text("SELECT id, confidence, consensus FROM tasks WHERE project_id = :p ORDER BY id"), {"p": pid}
        ).all()
    assert abs(rows[0][1] - first) < 1e-9
    assert abs(rows[1][1] - 0.5) < 1e-9  # equal records and opposite answers: 1/2


def test_a_strong_record_saves_a_label(client: TestClient, rt: Runtime) -> None:
    owner = make_person(rt, "owner@acme.test")
    policy = {"target_confidence": 0.95, "min_labels": 2, "max_labels": 3}
    pid = _project(client, owner.headers, policy, 2)
    people = [make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b", "c", "d")]
    a, b, c, d = people
    with rt.db.session() as s:
        ws = s.execute(text("SELECT workspace_id FROM projects WHERE id = :p"), {"p": pid}).scalar_one()
        for who in (a, b):  # 38 of 40 right so far: (38 + 2.8) / 44 = 0.927
            s.execute(
                text(
                    "INSERT INTO annotator_estimates (workspace_id, project_id, user_id, correct, counted) "
                    "VALUES (:w, :p, :u, 38, 40)"
                ),
                {"w": ws, "p": pid, "u": who.user_id},
            )
        s.commit()
    assert label(client, a, pid, lambda it: "pos", limit=1) == [1]
    assert label(client, b, pid, lambda it: "pos", limit=1) == [1]
    assert label(client, c, pid, lambda it: "pos", limit=1) == [2]
    assert label(client, d, pid, lambda it: "pos", limit=1) == [2]
    with rt.db.session() as s:
        rows = s.execute(
            text("SELECT id, state, overlap, confidence FROM tasks WHERE project_id = :p ORDER BY id"),
            {"p": pid},
        ).all()
    acc = 40.8 / 44
    # a and b agree: acc^2 / (acc^2 + (1 - acc)^2) = 0.994 >= 0.95: done at 2 labels
    assert rows[0][1] == "complete" and rows[0][2] == 2
    assert abs(rows[0][3] - acc**2 / (acc**2 + (1 - acc) ** 2)) < 1e-9
    # c and d have no record (0.7 each): 0.845 < 0.95, so the task asks for a third label
    assert rows[1][1] == "open" and rows[1][2] == 3
    assert abs(rows[1][3] - 0.49 / 0.58) < 1e-9
    # the finished task credited a and b; the open one credited nobody yet
    records = _records(rt, pid)
    assert set(records) == {a.user_id, b.user_id} and records[a.user_id][1] == 41


def test_a_strong_record_never_stores_a_minority_label(client: TestClient, rt: Runtime) -> None:
    """The plurality rule: two coin-flip annotators say pos, an expert says neg. The posterior
    favours neg, but the stored label is pos (the option the most annotators chose) with neg's
    complement as its low posterior, so the task asks for another label instead of storing what
    one annotator against two said; a second expert's neg makes it 2 against 2, and there the
    records decide: neg, stored, and the task is let go."""
    owner = make_person(rt, "owner@acme.test")
    pid = _project(client, owner.headers, {"target_confidence": 0.9, "min_labels": 3, "max_labels": 5}, 1)
    a, b, expert, expert2 = (
        make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b", "expert", "expert2")
    )
    with rt.db.session() as s:
        ws = s.execute(text("SELECT workspace_id FROM projects WHERE id = :p"), {"p": pid}).scalar_one()
        for who, right in ((a, 50), (b, 50), (expert, 99), (expert2, 99)):
            s.execute(
                text(
                    "INSERT INTO annotator_estimates (workspace_id, project_id, user_id, correct, counted) "
                    "VALUES (:w, :p, :u, :c, 100)"
                ),
                {"w": ws, "p": pid, "u": who.user_id, "c": right},
            )
        s.commit()

    def task() -> tuple[str, int, float, str]:
        with rt.db.session() as s:
            state, overlap, confidence, consensus = s.execute(
                text("SELECT state, overlap, confidence, consensus FROM tasks WHERE project_id = :p"),
                {"p": pid},
            ).one()
        value = (orjson.loads(consensus) if isinstance(consensus, str | bytes) else consensus)["label"][
            "value"
        ]
        return str(state), int(overlap), float(confidence), str(value)

    assert label(client, a, pid, lambda it: "pos", limit=1) == [1]
    assert label(client, b, pid, lambda it: "pos", limit=1) == [1]
    assert label(client, expert, pid, lambda it: "neg", limit=1) == [1]
    state, overlap, confidence, value = task()
    assert (state, overlap, value) == ("open", 4, "pos") and confidence < 0.5
    assert label(client, expert2, pid, lambda it: "neg", limit=1) == [1]
    state, overlap, confidence, value = task()
    assert (state, overlap, value) == ("complete", 4, "neg") and confidence >= 0.9
