"""Adaptive overlap through the API: a task whose answers agree stops at min_labels, a disputed
one gets more labels up to max_labels, the budget caps the extra labels, and the report counts
the labels saved."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.runtime import Runtime
from tests.api.test_review import label
from tests.conftest import CHOICES_SCHEMA, Person, make_person


def _tasks(client: TestClient, owner: Person, pid: int) -> dict[int, int]:
    """task id -> how many annotations it has."""
    out = {}
    for task_id in range(1, 4):
        out[task_id] = len(client.get(f"/api/v1/tasks/{task_id}/annotations", headers=owner.headers).json())
    return out


def test_adaptive_overlap_asks_for_labels_only_where_needed(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    policy = {
        "target_confidence": 0.9,
        "min_labels": 2,
        "max_labels": 4,
        "budget_labels": 2,
        "label_cost": 0.5,
    }
    created = client.post(
        "/api/v1/projects",
        json={"name": "adaptive", "schema": CHOICES_SCHEMA, "quality": policy},
        headers=owner.headers,
    ).json()
    assert created["overlap"] == 2 and created["quality"]["target_confidence"] == 0.9
    pid = created["id"]
    items: list[Any] = [{"text": "agree"}, {"text": "dispute"}, {"text": "dispute2"}]
    client.post(f"/api/v1/projects/{pid}/items", json=items, headers=owner.headers)
    people = [make_person(rt, f"a{i}@acme.test", role="annotator") for i in range(5)]

    def pick(i: int) -> Any:
        # everyone says pos on "agree"; on the disputes annotators alternate pos / neg
        return lambda it: "pos" if it["text"] == "agree" or i % 2 == 0 else "neg"

    for i, who in enumerate(people):
        label(client, who, pid, pick(i))
    counts = _tasks(client, owner, pid)
    # "agree": 2 agreeing labels reach 0.84 < 0.9, so a third (0.93) -> done at 3.
    # The disputes need more, but the budget holds 2 extra labels in all: 1 went to "agree".
    assert counts[1] == 3
    assert sum(counts.values()) == 3 * 2 + 2
    report = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()["adaptive"]
    assert report["enabled"] and report["extra_labels"] == 2 and report["labels"] == 8
    # nothing was saved: the budget ran out before any task reached the target ("agree" ends at
    # 0.898 with 3 labels, its annotators' records having fallen on the disputes), so the 4
    # labels a fixed overlap of 4 would have bought more are short, not saved
    assert report["complete_tasks"] == 3 and report["labels_saved"] == 0
    assert report["tasks_short"] == 3 and report["labels_short"] == 3 * 4 - 8
    assert report["spent"] == 4.0 and report["saved"] == 0.0

    # more budget: the disputes take labels again, up to max_labels
    client.patch(
        f"/api/v1/projects/{pid}", json={"quality": {**policy, "budget_labels": 10}}, headers=owner.headers
    )
    assert client.get(f"/api/v1/projects/{pid}", headers=owner.headers).json()["overlap"] == 2
    late = make_person(rt, "late@acme.test", role="annotator")
    assert label(client, late, pid, lambda it: "pos") == []  # complete tasks stay complete


def test_the_predictive_rule_keeps_a_split_task_open_where_the_posterior_alone_stops(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    """pos, neg, pos, neg, pos, pos, pos, pos by eight newcomers (0.7 each, no record yet): at 6
    against 2 the posterior is 0.967 (four votes ahead, as 4 to 0), over the 0.95 target, so
    ``stop_rule: posterior`` lets the task go at 8 labels; with 32 of max_labels 40 still to
    come the leader holds with 0.935 only, so the default "predictive" rule asks for a ninth."""
    sequence = ["pos", "neg", "pos", "neg", "pos", "pos", "pos", "pos"]
    people = [make_person(rt, f"s{i}@acme.test", role="annotator") for i in range(len(sequence))]
    state = {}
    for rule in ("predictive", "posterior"):
        policy = {"target_confidence": 0.95, "min_labels": 2, "max_labels": 40, "stop_rule": rule}
        created = client.post(
            "/api/v1/projects",
            json={"name": f"split-{rule}", "schema": CHOICES_SCHEMA, "quality": policy},
            headers=owner.headers,
        ).json()
        assert created["quality"]["stop_rule"] == rule and created["quality"]["annotator_weights"] is True
        pid = created["id"]
        client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "split"}], headers=owner.headers)
        for who, answer in zip(people, sequence, strict=True):
            assert len(label(client, who, pid, lambda it, a=answer: a)) == 1
        with rt.db.session() as s:
            row = s.execute(text("SELECT state, overlap FROM tasks WHERE project_id = :p"), {"p": pid}).one()
        state[rule] = (row[0], row[1])
    assert state["posterior"] == ("complete", 8)
    assert state["predictive"] == ("open", 9)


def test_a_bad_stop_rule_is_refused_by_name(client: TestClient, owner: Person) -> None:
    for bad, field in (
        ({"target_confidence": 0.9, "stop_rule": "soon"}, "quality.stop_rule"),
        ({"annotator_weights": "yes"}, "quality.annotator_weights"),
    ):
        r = client.post(
            "/api/v1/projects",
            json={"name": "bad", "schema": CHOICES_SCHEMA, "quality": bad},
            headers=owner.headers,
        )
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text


def test_labels_saved_counts_tasks_that_reached_the_target(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    """Two tasks everybody agrees on, no budget cap: 2 newcomers' labels give 0.84 < 0.9, a third
    0.93, so each stops at 3 of max_labels 4: 2 labels saved, none short."""
    policy = {"target_confidence": 0.9, "min_labels": 2, "max_labels": 4}
    pid = client.post(
        "/api/v1/projects",
        json={"name": "saved", "schema": CHOICES_SCHEMA, "quality": policy},
        headers=owner.headers,
    ).json()["id"]
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "a"}, {"text": "b"}], headers=owner.headers)
    for i in range(4):
        label(client, make_person(rt, f"s{i}@acme.test", role="annotator"), pid, lambda it: "pos")
    report = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()["adaptive"]
    assert report["complete_tasks"] == 2 and report["labels"] == 6
    assert report["labels_saved"] == 2 and report["tasks_short"] == 0 and report["labels_short"] == 0
