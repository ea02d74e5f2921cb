"""Gold scores through the API, on SQLite and PostgreSQL: what the report, the auto-pause and the
annotator's running record count agree, whatever the annotator does to a gold answer."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.runtime import Runtime
from tests.conftest import Person, make_person

TWO = {
    "controls": [
        {"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]},
        {"name": "topic", "type": "choices", "over": "text", "options": ["a", "b"], "required": False},
    ]
}


def _answer(c: TestClient, who: Person, pid: int, answer: dict[str, Any]) -> int:
    h = c.post(f"/api/v1/projects/{pid}/next", headers=who.headers).json()
    r = c.post(
        f"/api/v1/tasks/{h['task']['id']}/annotations",
        json={
            "answer": answer,
            "lease_id": h["lease"]["id"],
            "idempotency_key": f"{who.email}-{h['task']['id']}",
        },
        headers=who.headers,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _gold(c: TestClient, owner: Person, pid: int, control: str) -> dict[str, Any]:
    report = c.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()
    return {a["annotator"]: a["gold"] for a in report["controls"][control]["annotators"]}


def _project(c: TestClient, owner: Person, n: int) -> int:
    pid = int(
        c.post(
            "/api/v1/projects",
            json={
                "name": "g",
                "schema": TWO,
                "gold_rate": 1.0,
                "quality": {"pause_below": 0.5, "pause_min_gold": n},
            },
            headers=owner.headers,
        ).json()["id"]
    )
    gold = [{"data": {"text": f"g{i}"}, "gold": {"label": "pos", "topic": "a"}} for i in range(n)]
    c.post(f"/api/v1/projects/{pid}/items", json=gold, headers=owner.headers)
    return pid


def test_an_edited_gold_answer_counts_once_as_its_last_version(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _project(client, owner, 3)
    ann = make_person(rt, "ann@acme.test", role="annotator")
    first = _answer(client, ann, pid, {"label": "neg", "topic": "a"})
    edited = client.put(
        f"/api/v1/annotations/{first}", json={"answer": {"label": "pos", "topic": "a"}}, headers=ann.headers
    )
    assert edited.status_code == 201, edited.text
    again = client.put(
        f"/api/v1/annotations/{edited.json()['id']}",
        json={"answer": {"label": "pos", "topic": "b"}},
        headers=ann.headers,
    )
    assert again.status_code == 201, again.text
    assert _gold(client, owner, pid, "label")["ann@acme.test"] | {"ci95": None} == {
        "answered": 1,
        "correct": 1,
        "accuracy": 1.0,
        "ci95": None,
    }
    assert _gold(client, owner, pid, "topic")["ann@acme.test"]["correct"] == 0
    with rt.db.session() as s:  # the running record: the two single-choice controls, once each
        row = s.execute(
            text("SELECT correct, counted FROM annotator_estimates WHERE user_id = :u"), {"u": ann.user_id}
        ).one()
        assert (float(row[0]), float(row[1])) == (1.0, 2.0)


def test_a_gold_control_left_unanswered_is_wrong_in_the_report_as_in_the_pause(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _project(client, owner, 2)
    ann = make_person(rt, "ann@acme.test", role="annotator")
    _answer(client, ann, pid, {"label": "pos"})  # topic skipped: the gold answer has one
    _answer(client, ann, pid, {"label": "neg"})
    # the pause: both gold answers wrong (each misses the gold topic), 0/2 below 50%
    pauses = client.get(f"/api/v1/projects/{pid}/pauses", headers=owner.headers).json()
    assert [(p["details"]["correct"], p["details"]["answered"]) for p in pauses] == [(0, 2)]
    # the report says why, per control: label 1/2, topic 0/2 (not "no gold answers")
    assert _gold(client, owner, pid, "label")["ann@acme.test"]["correct"] == 1
    topic = _gold(client, owner, pid, "topic")["ann@acme.test"]
    assert (topic["correct"], topic["answered"]) == (0, 2)


SPANS = {"controls": [{"name": "ents", "type": "spans", "over": "text", "labels": ["PER", "ORG"]}]}
PER = {"start": 0, "end": 3, "label": "PER"}
ORG = {"start": 13, "end": 17, "label": "ORG"}


def test_span_gold_scores_the_annotator_and_pauses_alike(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = int(
        client.post(
            "/api/v1/projects",
            json={
                "name": "spans",
                "schema": SPANS,
                "gold_rate": 1.0,
                "quality": {"pause_below": 0.5, "pause_min_gold": 3},
            },
            headers=owner.headers,
        ).json()["id"]
    )
    gold = [{"data": {"text": "Ada works at Acme"}, "gold": {"ents": [PER, ORG]}} for _ in range(3)]
    for i, g in enumerate(gold):
        g["data"]["n"] = i  # three distinct items
    client.post(f"/api/v1/projects/{pid}/items", json=gold, headers=owner.headers)
    close, far = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("close", "far"))
    for _ in range(3):  # both entities, or one of two (span F1 2/3): right by the 0.5 match
        _answer(client, close, pid, {"ents": [PER]})
    far_answers = iter([[PER, ORG], [], [{"start": 4, "end": 9, "label": "ORG"}]])
    for _ in range(3):  # right, nothing found, a wrong span: 1/3
        _answer(client, far, pid, {"ents": next(far_answers)})
    pauses = client.get(f"/api/v1/projects/{pid}/pauses", headers=owner.headers).json()
    assert [(p["annotator"], p["details"]["correct"], p["details"]["answered"]) for p in pauses] == [
        ("far@acme.test", 1, 3)
    ]
    scores = _gold(client, owner, pid, "ents")
    assert (scores["far@acme.test"]["correct"], scores["far@acme.test"]["answered"]) == (1, 3)
    assert (scores["close@acme.test"]["correct"], scores["close@acme.test"]["answered"]) == (3, 3)
