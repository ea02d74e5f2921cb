"""Annotators' records (annotator_estimates) through the API on both databases: gold answers add
exact 0/1 evidence at submit, and an answer that stops counting (rejected, trashed, edited) takes
back exactly what it added; a task that finishes again replaces its credit instead of adding it
twice. After every step the record equals the sum of the credits of the answers that count."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.runtime import Runtime
from labelhouse.services import consensus, credits
from labelhouse.services.projects import policy_of, schemas
from labelhouse.storage.rawsql import Raw
from labelhouse.storage.tables import Project
from tests.api.test_review import label
from tests.conftest import CHOICES_SCHEMA, Person, make_person


def _project(c: TestClient, who: Person, items: list[Any], **settings: Any) -> int:
    pid = int(
        c.post(
            "/api/v1/projects",
            json={"name": "credits", "schema": CHOICES_SCHEMA, **settings},
            headers=who.headers,
        ).json()["id"]
    )
    assert c.post(f"/api/v1/projects/{pid}/items", json=items, headers=who.headers).status_code in (200, 201)
    return pid


def _records(rt: Runtime, pid: int) -> dict[int, tuple[float, float]]:
    with rt.db.session() as s:
        rows = s.execute(
            text("SELECT user_id, correct, counted FROM annotator_estimates WHERE project_id = :p"),
            {"p": pid},
        ).all()
    return {int(u): (round(float(c), 9), round(float(n), 9)) for u, c, n in rows}


def _sum_of_credits(rt: Runtime, pid: int) -> dict[int, tuple[float, float]]:
    """What the records must hold: the credits of the answers that count, per annotator."""
    with rt.db.session() as s:
        rows = s.execute(
            text(
                "SELECT user_id, SUM(credit_correct), SUM(credit_counted) FROM annotations "
                "WHERE project_id = :p AND is_latest AND deleted_at IS NULL "
                "AND (review IS NULL OR review != 'rejected') AND credit_counted IS NOT NULL GROUP BY user_id"
            ),
            {"p": pid},
        ).all()
    return {int(u): (round(float(c), 9), round(float(n), 9)) for u, c, n in rows}


def _consistent(rt: Runtime, pid: int) -> dict[int, tuple[float, float]]:
    records = {u: v for u, v in _records(rt, pid).items() if v != (0.0, 0.0)}
    assert records == _sum_of_credits(rt, pid)
    return records


def _annotation(rt: Runtime, task_id: int, user_id: int) -> int:
    with rt.db.session() as s:
        return int(
            s.execute(
                text("SELECT id FROM annotations WHERE task_id = :t AND user_id = :u AND is_latest"),
                {"t": task_id, "u": user_id},
            ).scalar_one()
        )


def _task(rt: Runtime, task_id: int) -> tuple[Any, ...]:
    with rt.db.session() as s:
        return tuple(
            s.execute(
                text("SELECT state, done, overlap, confidence FROM tasks WHERE id = :t"), {"t": task_id}
            ).one()
        )


def test_gold_answers_add_exact_evidence(client: TestClient, owner: Person, rt: Runtime) -> None:
    items: list[Any] = [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(4)]
    # adaptive overlap off: gold still fills the records, ready for when it is switched on
    pid = _project(client, owner, items, gold_rate=1.0)
    a, b = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b"))
    answers = iter(["pos", "neg", "pos", "pos"])
    assert len(label(client, a, pid, lambda it: next(answers))) == 4
    assert len(label(client, b, pid, lambda it: "neg", limit=2)) == 2
    assert _consistent(rt, pid) == {a.user_id: (3.0, 4.0), b.user_id: (0.0, 2.0)}
    # the report scores the same gold answers, per annotator and per week
    section = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()["controls"]["label"]
    gold = {x["annotator"]: (x["gold"]["correct"], x["gold"]["answered"]) for x in section["annotators"]}
    assert gold == {"a@acme.test": (3, 4), "b@acme.test": (0, 2)}
    weeks = {(w["annotator"], w["gold_answered"], w["gold_accuracy"]) for w in section["weeks"]}
    assert weeks == {("a@acme.test", 4, 0.75), ("b@acme.test", 2, 0.0)}

    # b fixes one answer: the wrong version's 0/1 leaves, the new one is scored against gold
    first = _annotation(rt, 1, b.user_id)
    r = client.put(f"/api/v1/annotations/{first}", json={"answer": {"label": "pos"}}, headers=b.headers)
    assert r.status_code == 201, r.text
    assert _consistent(rt, pid)[b.user_id] == (1.0, 2.0)
    # an edit by a manager is not the annotator's own answer: it takes b's credit out, adds none
    second = _annotation(rt, 2, b.user_id)
    r = client.put(f"/api/v1/annotations/{second}", json={"answer": {"label": "pos"}}, headers=owner.headers)
    assert r.status_code == 201, r.text
    assert _consistent(rt, pid)[b.user_id] == (1.0, 1.0)


def test_gold_feeds_the_posterior_of_adaptive_overlap(client: TestClient, owner: Person, rt: Runtime) -> None:
    """Two annotators who got 4 of 4 gold right: (4 + 4 x 0.7) / 8 = 0.85 each, so two agreeing
    answers reach 0.85^2 / (0.85^2 + 0.15^2) = 0.970 >= 0.95 where 0.7 each would give 0.845."""
    gold: list[Any] = [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(4)]
    policy = {"target_confidence": 0.95, "min_labels": 2, "max_labels": 3}
    pid = _project(client, owner, gold, gold_rate=1.0, quality=policy)
    a, b = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b"))
    for who in (a, b):
        assert len(label(client, who, pid, lambda it: "pos")) == 4
    client.patch(f"/api/v1/projects/{pid}", json={"gold_rate": 0.0}, headers=owner.headers)
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "t0"}], headers=owner.headers)
    assert label(client, a, pid, lambda it: "pos") == [5]
    assert label(client, b, pid, lambda it: "pos") == [5]
    state, done, overlap, confidence = _task(rt, 5)
    assert (state, done, overlap) == ("complete", 2, 2)
    assert abs(confidence - 0.85**2 / (0.85**2 + 0.15**2)) < 1e-9
    # the finished task adds its posterior credit on top of the gold evidence
    records = _consistent(rt, pid)
    assert records[a.user_id][1] == 5.0 and abs(records[a.user_id][0] - (4 + confidence)) < 1e-9


def _reject(c: TestClient, reviewer: Person, annotation_id: int) -> int:
    return c.post(
        f"/api/v1/annotations/{annotation_id}/review",
        json={"decision": "reject", "reason": "wrong label"},
        headers=reviewer.headers,
    ).status_code


def test_a_reject_takes_back_the_credit(client: TestClient, owner: Person, rt: Runtime) -> None:
    policy = {"target_confidence": 0.99, "min_labels": 2, "max_labels": 2}
    pid = _project(client, owner, [{"text": "t0"}, {"text": "t1"}], quality=policy)
    a, b, c = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b", "c"))
    reviewer = make_person(rt, "rev@acme.test", role="reviewer")
    assert label(client, a, pid, lambda it: "pos") == [1, 2]
    assert label(client, b, pid, lambda it: "pos" if it["text"] == "t0" else "neg") == [1, 2]
    first = 0.49 / 0.58  # task 1: both pos at 0.7 each
    before = _consistent(rt, pid)
    assert abs(before[a.user_id][0] - (first + 0.5)) < 1e-9 and before[a.user_id][1] == 2.0

    # reject a's answer to task 1: exactly its credit leaves a's record; b's is untouched
    a1 = _annotation(rt, 1, a.user_id)
    assert _reject(client, reviewer, a1) == 201
    after = _consistent(rt, pid)
    assert abs(after[a.user_id][0] - 0.5) < 1e-9 and after[a.user_id][1] == 1.0
    assert after[b.user_id] == before[b.user_id]
    # the task reopens for one more label; its stored consensus is b's answer alone
    state, done, overlap, confidence = _task(rt, 1)
    assert (state, done, overlap) == ("open", 1, 2) and confidence is not None
    # a second decision is refused and changes nothing
    assert _reject(client, reviewer, a1) == 409
    assert _consistent(rt, pid) == after

    # c labels task 1: it finishes again; b's credit on it is replaced (not added a second time)
    assert label(client, c, pid, lambda it: "pos") == [1]
    again = _consistent(rt, pid)
    assert again[b.user_id][1] == 2.0 and again[c.user_id][1] == 1.0
    assert _task(rt, 1)[0] == "complete"

    # the rejected answer in the trash and back: still rejected, still out of the record
    assert client.delete(f"/api/v1/annotations/{a1}", headers=owner.headers).status_code == 204
    assert _consistent(rt, pid) == again
    assert client.post(f"/api/v1/trash/annotation/{a1}/restore", headers=owner.headers).status_code == 204
    assert _consistent(rt, pid) == again

    # a counted answer to the trash takes its credit out; restoring it puts it back
    c1 = _annotation(rt, 1, c.user_id)
    assert client.delete(f"/api/v1/annotations/{c1}", headers=owner.headers).status_code == 204
    assert c.user_id not in _consistent(rt, pid)
    assert client.post(f"/api/v1/trash/annotation/{c1}/restore", headers=owner.headers).status_code == 204
    assert _consistent(rt, pid) == again


def test_a_correction_takes_back_the_credit(client: TestClient, owner: Person, rt: Runtime) -> None:
    policy = {"target_confidence": 0.99, "min_labels": 2, "max_labels": 2}
    pid = _project(client, owner, [{"text": "t0"}], quality=policy)
    a, b = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b"))
    reviewer = make_person(rt, "rev@acme.test", role="reviewer")
    label(client, a, pid, lambda it: "pos")
    label(client, b, pid, lambda it: "neg")
    assert set(_consistent(rt, pid)) == {a.user_id, b.user_id}
    r = client.post(
        f"/api/v1/annotations/{_annotation(rt, 1, b.user_id)}/review",
        json={"decision": "correct", "answer": {"label": "pos"}},
        headers=reviewer.headers,
    )
    assert r.status_code == 201, r.text
    # b's answer is now the reviewer's version: b keeps no credit for it; a keeps theirs
    records = _consistent(rt, pid)
    assert b.user_id not in records and records[a.user_id] == (0.5, 1.0)


def _quality_state(rt: Runtime) -> list[Any]:
    with rt.db.session() as s:
        return [
            s.execute(text(sql)).all()
            for sql in (
                "SELECT id, consensus, confidence FROM tasks ORDER BY id",
                "SELECT id, credit_correct, credit_counted FROM annotations ORDER BY id",
                "SELECT project_id, user_id, correct, counted FROM annotator_estimates ORDER BY 1, 2",
                "SELECT id, extra_labels FROM projects ORDER BY id",
            )
        ]


def test_ids_of_another_workspace_act_as_absent(client: TestClient, owner: Person, rt: Runtime) -> None:
    """services.credits and services.consensus name the workspace in every statement: called for
    workspace B with a task, annotation or project id of A, they find nothing and change nothing
    (on SQLite, and on PostgreSQL without row security, the filter is the only wall)."""
    policy = {"target_confidence": 0.99, "min_labels": 2, "max_labels": 2}
    pid = _project(client, owner, [{"text": "t0"}], quality=policy)
    a, b = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b"))
    assert label(client, a, pid, lambda it: "pos") == [1]
    assert label(client, b, pid, lambda it: "pos") == [1]
    other = make_person(rt, "owner@globex.test", "globex", "owner").workspace_id
    a1 = _annotation(rt, 1, a.user_id)
    before = _quality_state(rt)
    assert before[0][0][1] is not None and _consistent(rt, pid)  # a stored consensus, records

    def run(workspace: int) -> None:
        calls: list[Callable[[Raw, Project], Any]] = [
            lambda db, _p: credits.leave(db, workspace, a1),
            lambda db, _p: credits.come_back(db, workspace, a1),
            lambda db, _p: credits.record_task(
                db, workspace, pid, 1, {str(a.user_id): (0.0, 1), str(b.user_id): (0.0, 1)}
            ),
            lambda db, p: consensus.refresh_if_stored(db, workspace, 1, p),
            # over no answers the consensus would be emptied
            lambda db, p: consensus.refresh(db, workspace, 1, schemas.get(p), policy_of(p)),
        ]
        for call in calls:
            with rt.db.session() as s:
                project = s.get(Project, pid)
                assert project is not None
                call(Raw.of(s), project)
            if workspace == other:
                assert _quality_state(rt) == before, call
        with rt.db.session() as s:
            project = s.get(Project, pid)
            assert project is not None
            found = consensus.answers_with_accuracy(Raw.of(s), workspace, 1, policy_of(project))
            assert (found == ([], {})) is (workspace == other)
            assert (consensus.counted_answers(Raw.of(s), workspace, 1) == []) is (workspace == other)

    run(other)
    # the control: the same calls for A's own workspace reach the rows
    run(owner.workspace_id)
    assert _quality_state(rt) != before
    _consistent(rt, pid)


def test_gold_first_records_known_answers_before_any_ordinary_task(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    """The "gold first" advice of docs/quality.md (adaptive overlap where annotators err
    together): with gold_rate 1 every annotator answers every gold task before their first
    ordinary one, so the records rest on known answers before the first task is decided."""
    gold: list[Any] = [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(3)]
    plain: list[Any] = [{"text": f"t{i}"} for i in range(2)]
    policy = {"target_confidence": 0.95, "min_labels": 2, "max_labels": 5}
    pid = _project(client, owner, gold + plain, gold_rate=1.0, quality=policy)
    a, b = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b"))
    says_a = iter(["pos", "pos", "pos", "pos"])
    says_b = iter(["neg", "neg", "pos", "pos"])
    assert label(client, a, pid, lambda it: next(says_a), limit=4) == [1, 2, 3, 4]  # gold 1-3 first
    assert _records(rt, pid) == {a.user_id: (3.0, 3.0)}  # known answers, before any task is decided
    assert label(client, b, pid, lambda it: next(says_b), limit=4) == [1, 2, 3, 4]
    # b got 1 of 3 gold tasks right: when task 4 is decided their estimate is (1 + 2.8) / 7 = 0.54
    # and a's (3 + 2.8) / 7 = 0.83, so two agreeing answers give 0.85 < 0.95: a third is asked for
    assert _records(rt, pid) == {a.user_id: (3.0, 3.0), b.user_id: (1.0, 3.0)}
    with rt.db.session() as s:
        state, overlap = s.execute(text("SELECT state, overlap FROM tasks WHERE id = 4")).one()
    assert (state, overlap) == ("open", 3)
