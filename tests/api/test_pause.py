"""Auto-pause by gold through the API: an annotator who fails gold is paused in the project, told
why on ``next``, listed for the manager, and unpaused with a fresh start."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from labelhouse.runtime import Runtime
from tests.api.test_review import label
from tests.conftest import CHOICES_SCHEMA, Person, make_person


def test_failing_gold_pauses_and_a_manager_unpauses(client: TestClient, owner: Person, rt: Runtime) -> None:
    pid = client.post(
        "/api/v1/projects",
        json={
            "name": "gold",
            "schema": CHOICES_SCHEMA,
            "gold_rate": 1.0,
            "quality": {"pause_below": 0.75, "pause_min_gold": 3},
        },
        headers=owner.headers,
    ).json()["id"]
    items: list[Any] = [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(6)]
    items += [{"text": f"t{i}"} for i in range(4)]
    client.post(f"/api/v1/projects/{pid}/items", json=items, headers=owner.headers)
    good, bad = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("good", "bad"))

    assert len(label(client, good, pid, lambda it: "pos", limit=6)) == 6  # all gold, all right
    # bad: right, wrong, wrong -> 1/3 below 75% once 3 gold answers are in
    answers = iter(["pos", "neg", "neg", "pos"])
    assert len(label(client, bad, pid, lambda it: next(answers))) == 3
    r = client.post(f"/api/v1/projects/{pid}/next", headers=bad.headers)
    assert r.status_code == 403
    error = r.json()["error"]
    assert "paused in project" in error["message"] and "1/3 (33%" in error["message"]
    # the figures behind it: the score, its 95% Wilson interval, the count and the bar
    assert "95% interval 6% to 79%" in error["message"] and "project's 75%" in error["message"]
    assert error["code"] == "forbidden" and "ask a manager to unpause you" in error["message"]
    assert client.post(f"/api/v1/projects/{pid}/next", headers=good.headers).status_code == 200

    listed = client.get(f"/api/v1/projects/{pid}/pauses", headers=owner.headers).json()
    assert [(p["annotator"], p["automatic"]) for p in listed] == [("bad@acme.test", True)]
    assert listed[0]["details"] == {
        "correct": 1,
        "answered": 3,
        "accuracy": 0.3333,
        "ci95": [0.0615, 0.7923],
        "threshold": 0.75,
        "automatic": True,
    }
    assert "95% interval 6% to 79%" in listed[0]["reason"]
    report = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()["controls"]["label"]
    gold = {a["annotator"]: a["gold"] for a in report["annotators"]}
    assert gold["bad@acme.test"]["correct"] == 1 and gold["bad@acme.test"]["answered"] == 3
    assert (
        client.delete(f"/api/v1/projects/{pid}/pauses/{bad.user_id}", headers=good.headers).status_code == 403
    )

    assert (
        client.delete(f"/api/v1/projects/{pid}/pauses/{bad.user_id}", headers=owner.headers).status_code
        == 204
    )
    assert client.get(f"/api/v1/projects/{pid}/pauses", headers=owner.headers).json() == []
    # a fresh start: one more right gold answer is 1/1 since the unpause, not 2/4
    assert len(label(client, bad, pid, lambda it: "pos", limit=1)) == 1
    assert client.get(f"/api/v1/projects/{pid}/pauses", headers=owner.headers).json() == []
    lifted = client.get(f"/api/v1/projects/{pid}/pauses?lifted=true", headers=owner.headers).json()
    assert len(lifted) == 1 and lifted[0]["lifted_at"] is not None
