"""The review queue through the API: routing (failed gold, then low confidence, then the rest),
claims, accept / reject / correct, and what each decision does to the task."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from labelhouse.runtime import Runtime
from tests.conftest import CHOICES_SCHEMA, Person, make_person


def label(
    c: TestClient, who: Person, pid: int, pick: Callable[[dict[str, Any]], str], limit: int = 1000
) -> list[int]:
    """``who`` takes and answers up to ``limit`` tasks; returns the task ids in order."""
    done: list[int] = []
    while len(done) < limit:
        r = c.post(f"/api/v1/projects/{pid}/next", headers=who.headers)
        if r.status_code != 200:
            break
        h = r.json()
        sent = c.post(
            f"/api/v1/tasks/{h['task']['id']}/annotations",
            json={
                "answer": {"label": pick(h["task"]["item"])},
                "lease_id": h["lease"]["id"],
                "idempotency_key": f"{who.email}-{h['task']['id']}",
            },
            headers=who.headers,
        )
        assert sent.status_code == 201, sent.text
        done.append(h["task"]["id"])
    return done


def _flip(label: str) -> str:
    return "neg" if label == "pos" else "pos"


def test_review_routing_and_decisions(client: TestClient, owner: Person, rt: Runtime) -> None:
    pid = client.post(
        "/api/v1/projects",
        json={
            "name": "review",
            "schema": CHOICES_SCHEMA,
            "overlap": 2,
            "gold_rate": 1.0,
            "quality": {"review_below": 0.8, "gold_pass": 0.8, "assumed_accuracy": 0.7},
        },
        headers=owner.headers,
    ).json()["id"]
    items: list[Any] = [{"text": f"t{i}", "truth": "pos"} for i in range(4)]
    items.append({"data": {"text": "gold", "truth": "pos"}, "gold": {"label": "pos"}})
    client.post(f"/api/v1/projects/{pid}/items", json=items, headers=owner.headers)
    good1, good2, bad = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("g1", "g2", "bad"))
    reviewer = make_person(rt, "rev@acme.test", role="reviewer")
    manager = make_person(rt, "mgr@acme.test", role="manager")

    assert label(client, good1, pid, lambda it: it["truth"]) == [5, 1, 2, 3, 4]  # gold first
    assert label(client, bad, pid, lambda it: "neg", limit=2) == [5, 1]  # fails gold, labels t1
    # good2: wrong on t2 (a disagreement), right on t3 and t4
    assert label(
        client, good2, pid, lambda it: _flip(it["truth"]) if it["text"] == "t1" else it["truth"], 4
    ) == [
        5,
        2,
        3,
        4,
    ]
    assert client.post(f"/api/v1/projects/{pid}/review/next", headers=good1.headers).status_code == 403

    def take(who: Person) -> dict[str, Any]:
        r = client.post(f"/api/v1/projects/{pid}/review/next", headers=who.headers)
        assert r.status_code == 200, r.text
        return r.json()

    first = take(reviewer)
    assert (first["task"]["id"], first["route"]) == (1, "failed_gold")
    assert first["task"]["consensus"]["label"]["n"] == 2
    assert first["task"]["confidence"] == 0.5  # one pos, one neg: no evidence either way
    by = {a["annotator"]: a for a in first["annotations"]}
    assert set(by) == {"g1@acme.test", "bad@acme.test"} and by["g1@acme.test"]["review"] is None
    assert take(reviewer)["task"]["id"] == 1  # asking again returns the claim

    def decide(who: Person, annotation_id: int, **body: Any) -> Any:
        return client.post(f"/api/v1/annotations/{annotation_id}/review", json=body, headers=who.headers)

    assert decide(reviewer, by["bad@acme.test"]["id"], decision="reject").status_code == 422  # no reason
    assert decide(manager, by["bad@acme.test"]["id"], decision="accept").status_code == 409  # claimed
    rejected = decide(reviewer, by["bad@acme.test"]["id"], decision="reject", reason="it says pos")
    assert rejected.status_code == 201 and rejected.json()["decision"] == "rejected"
    assert decide(reviewer, by["bad@acme.test"]["id"], decision="accept").status_code == 409  # decided
    assert decide(reviewer, by["g1@acme.test"]["id"], decision="accept").status_code == 201

    # the annotator sees the decision on their own answer, and only that
    seen = client.get("/api/v1/tasks/1/reviews", headers=bad.headers).json()
    assert [(r["decision"], r["reason"]) for r in seen] == [("rejected", "it says pos")]
    assert len(client.get("/api/v1/tasks/1/reviews", headers=reviewer.headers).json()) == 2

    second = take(reviewer)
    assert (second["task"]["id"], second["route"]) == (2, "low_confidence")
    by2 = {a["annotator"]: a for a in second["annotations"]}
    fixed = decide(reviewer, by2["g2@acme.test"]["id"], decision="correct", answer={"label": "pos"})
    assert fixed.status_code == 201 and fixed.json()["correction_id"] is not None
    decide(reviewer, by2["g1@acme.test"]["id"], decision="accept")
    versions = client.get("/api/v1/tasks/2/annotations?all_versions=true", headers=owner.headers).json()
    latest = [a for a in versions if a["is_latest"] and a["annotator_id"] == good2.user_id]
    assert latest[0]["answer"] == {"label": "pos"} and latest[0]["version"] == 2

    third = take(reviewer)
    assert (third["task"]["id"], third["route"]) == (3, "routine")
    assert third["task"]["confidence"] > 0.8
    assert take(manager)["task"]["id"] == 4  # task 3 is claimed by the reviewer
    assert client.post("/api/v1/tasks/3/review/release", headers=reviewer.headers).status_code == 204
    assert client.post("/api/v1/tasks/3/review/release", headers=reviewer.headers).status_code == 409
    assert take(reviewer)["task"]["id"] == 3

    # the rejected answer stopped counting: task 1 takes one more label, then comes back
    assert label(client, good2, pid, lambda it: it["truth"]) == [1]
    client.post("/api/v1/tasks/3/review/release", headers=reviewer.headers)
    again = take(reviewer)
    assert again["task"]["id"] == 1 and again["task"]["labels"] == 2
    reviews = {a["annotator"]: a["review"] for a in again["annotations"]}
    assert reviews == {"g1@acme.test": "accepted", "g2@acme.test": None, "bad@acme.test": "rejected"}
    assert again["task"]["consensus"]["label"]["value"] == "pos"
    assert again["task"]["confidence"] > 0.8  # the rejected "neg" no longer counts


def test_reviewing_ones_own_annotation_is_refused(client: TestClient, owner: Person, rt: Runtime) -> None:
    pid = client.post(
        "/api/v1/projects", json={"name": "own", "schema": CHOICES_SCHEMA}, headers=owner.headers
    ).json()["id"]
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "a"}], headers=owner.headers)
    assert label(client, owner, pid, lambda it: "pos") == [1]
    # the owner's own task is not in their review queue, and cannot be decided by them
    assert client.post(f"/api/v1/projects/{pid}/review/next", headers=owner.headers).status_code == 204
    annotation = client.get("/api/v1/tasks/1/annotations", headers=owner.headers).json()[0]
    r = client.post(
        f"/api/v1/annotations/{annotation['id']}/review", json={"decision": "accept"}, headers=owner.headers
    )
    assert r.status_code == 403
    manager = make_person(rt, "m@acme.test", role="manager")
    got = client.post(f"/api/v1/projects/{pid}/review/next", headers=manager.headers).json()
    assert got["route"] == "low_confidence"  # one label: posterior 0.7 < 0.8
    assert got["task"]["consensus"] == {
        "label": {"value": "pos", "confidence": 1.0, "n": 1, "posterior": 0.7}
    }


def test_a_policy_stored_with_null_where_null_is_now_refused_reads_as_the_default(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    # PATCH used to store {"review_below": null, "gold_pass": null} (the review queue then failed);
    # null is refused now, and a policy stored so before reads as the defaults rather than
    # failing every read of the project
    from sqlalchemy import text

    pid = client.post(
        "/api/v1/projects",
        json={"name": "legacy", "schema": CHOICES_SCHEMA, "overlap": 1},
        headers=owner.headers,
    ).json()["id"]
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "t"}], headers=owner.headers)
    with rt.db.session() as s:
        s.execute(
            text("UPDATE projects SET quality = :q, updated_at = :now WHERE id = :p"),
            {
                "q": '{"review_below": null, "gold_pass": null, "pause_below": null}',
                "p": pid,
                "now": datetime(2030, 1, 1, tzinfo=UTC),  # a new version: parsed policies are cached by it
            },
        )
    label(client, make_person(rt, "ann@acme.test", role="annotator"), pid, lambda _i: "pos")
    r = client.post(f"/api/v1/projects/{pid}/review/next", headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["route"] == "low_confidence"  # one label: posterior 0.7, below the default 0.8


def test_routing_follows_the_policy_as_it_is_when_the_reviewer_asks(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    # the thresholds are read at each review/next, not frozen when a task completed: a manager
    # who lowers review_below or gold_pass afterwards changes what comes first
    policy = {"review_below": 0.8, "gold_pass": 0.8}
    pid = client.post(
        "/api/v1/projects",
        json={"name": "later", "schema": CHOICES_SCHEMA, "overlap": 2, "gold_rate": 1.0, "quality": policy},
        headers=owner.headers,
    ).json()["id"]
    items: list[Any] = [{"text": f"t{i}"} for i in range(3)]
    items.append({"data": {"text": "gold"}, "gold": {"label": "pos"}})
    client.post(f"/api/v1/projects/{pid}/items", json=items, headers=owner.headers)
    a, b, c = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b", "c"))
    assert label(client, a, pid, lambda it: "neg" if it["text"] == "t0" else "pos") == [4, 1, 2, 3]
    assert label(client, b, pid, lambda it: "pos", limit=2) == [4, 1]  # t0: a neg, b pos
    assert label(client, c, pid, lambda it: "neg" if it["text"] == "gold" else "pos") == [4, 2, 3]
    reviewer = make_person(rt, "rev@acme.test", role="reviewer")

    def first() -> tuple[int, str]:
        r = client.post(f"/api/v1/projects/{pid}/review/next", headers=reviewer.headers)
        assert r.status_code == 200, r.text
        client.post(f"/api/v1/tasks/{r.json()['task']['id']}/review/release", headers=reviewer.headers)
        return r.json()["task"]["id"], r.json()["route"]

    assert first() == (2, "failed_gold")  # c failed gold (0/1): their tasks 2 and 3 first
    client.patch(
        f"/api/v1/projects/{pid}", json={"quality": {**policy, "gold_pass": 0.0}}, headers=owner.headers
    )
    assert first() == (1, "low_confidence")  # nobody fails a pass mark of 0; t0 is 1 against 1
    client.patch(
        f"/api/v1/projects/{pid}",
        json={"quality": {**policy, "gold_pass": 0.0, "review_below": 0.3}},
        headers=owner.headers,
    )
    assert first() == (1, "routine")  # 0.5 is no longer low: task order
