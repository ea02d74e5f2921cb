"""Exports carry the task's stored consensus (the label the product decided on), on both
databases: on a project whose posterior weighs annotators by their records, the export's label is
the stored weighted one (the records break a tie between equally chosen options), not the
unweighted rule's tie-break; tasks without a stored consensus get the
rule computed by the exporter; rejected answers are left out; an edit keeps the two in step."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.runtime import Runtime
from tests.api.test_review import label
from tests.conftest import CHOICES_SCHEMA, Person, make_person


def _stored(rt: Runtime, pid: int) -> dict[int, Any]:
    with rt.db.session() as s:
        rows = s.execute(text("SELECT id, consensus FROM tasks WHERE project_id = :p"), {"p": pid}).all()
    return {int(t): (orjson.loads(c) if isinstance(c, str | bytes) else c) for t, c in rows}


def _export(c: TestClient, who: Person, pid: int) -> dict[int, dict[str, Any]]:
    r = c.get(f"/api/v1/projects/{pid}/export", headers=who.headers)
    assert r.status_code == 200, r.text
    return {line["task_id"]: line for line in map(orjson.loads, r.content.splitlines())}


def test_the_export_carries_the_stored_weighted_consensus(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    policy = {"target_confidence": 0.99, "min_labels": 4, "max_labels": 4}
    pid = int(
        client.post(
            "/api/v1/projects",
            json={"name": "weighted", "schema": CHOICES_SCHEMA, "quality": policy},
            headers=owner.headers,
        ).json()["id"]
    )
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "t0"}, {"text": "t1"}], headers=owner.headers)
    a, b, expert, expert2 = (
        make_person(rt, f"{n}@acme.test", role="annotator") for n in ("a", "b", "expert", "expert2")
    )
    reviewer = make_person(rt, "rev@acme.test", role="reviewer")
    with rt.db.session() as s:  # a and b have been wrong half the time, the expert almost never
        for who, right in ((a, 50), (b, 50), (expert, 99), (expert2, 99)):
            s.execute(
                text(
                    "INSERT INTO annotator_estimates (workspace_id, project_id, user_id, correct, counted) "
                    "VALUES (:w, :p, :u, :c, 100)"
                ),
                {"w": owner.workspace_id, "p": pid, "u": who.user_id, "c": right},
            )
        s.commit()
    label(client, a, pid, lambda it: "pos")
    label(client, b, pid, lambda it: "pos")
    label(client, expert, pid, lambda it: "neg", limit=1)
    label(client, expert2, pid, lambda it: "neg", limit=1)  # task 1 complete, task 2 has 2 answers

    stored = _stored(rt, pid)
    assert stored[1]["label"]["value"] == "neg"  # 2 against 2: the experts' records break the tie
    assert stored[2] is None
    exported = _export(client, owner, pid)
    one = exported[1]["consensus"]["label"]
    assert one == {**stored[1]["label"], "method": "stored"}
    assert one["value"] == "neg" and one["n"] == 4 and "posterior" in one
    # no stored consensus yet: the exporter's own (unweighted) rule
    two = exported[2]["consensus"]["label"]
    assert two == {"value": "pos", "confidence": 1.0, "n": 2, "method": "computed"}

    # CSV: the same label and how it was reached, on every row of the task
    r = client.get(f"/api/v1/projects/{pid}/export?format=csv", headers=owner.headers)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {(x["task_id"], x["consensus.label"], x["consensus.label.method"]) for x in rows} == {
        ("1", "neg", "stored"),
        ("2", "pos", "computed"),
    }

    # the expert's answer rejected: the stored consensus is recomputed without it, and the export
    # follows (the rejected answer is still listed, but left out of the consensus)
    ann = next(x["id"] for x in exported[1]["annotations"] if x["annotator"] == "expert@acme.test")
    r = client.post(
        f"/api/v1/annotations/{ann}/review",
        json={"decision": "reject", "reason": "no"},
        headers=reviewer.headers,
    )
    assert r.status_code == 201, r.text
    after = _export(client, owner, pid)[1]
    assert len(after["annotations"]) == 4
    assert after["consensus"]["label"] == {**_stored(rt, pid)[1]["label"], "method": "stored"}
    assert after["consensus"]["label"]["value"] == "pos" and after["consensus"]["label"]["n"] == 3

    # an annotator edits their answer: the stored consensus follows, so the export does too
    mine = next(x["id"] for x in after["annotations"] if x["annotator"] == "a@acme.test")
    r = client.put(f"/api/v1/annotations/{mine}", json={"answer": {"label": "neg"}}, headers=a.headers)
    assert r.status_code == 201, r.text
    edited = _export(client, owner, pid)[1]["consensus"]["label"]
    assert edited == {**_stored(rt, pid)[1]["label"], "method": "stored"} and edited["n"] == 3
    assert edited["value"] == "neg" and edited["confidence"] < 1.0  # a and expert2 neg, b pos
