"""Auto-pause by gold through the API: an annotator who fails gold is paused in the project, told
why on ``next``, listed for the manager, and unpaused with a fresh start; an automatic pause the
rule no longer makes (a lowered bar, a wrong gold task trashed) is lifted."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from labelhouse.runtime import Runtime
from labelhouse.storage.tables import AnnotatorPause, AuditEvent
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


def _gold_project(client: TestClient, owner: Person, quality: dict[str, Any]) -> int:
    pid = int(
        client.post(
            "/api/v1/projects",
            json={"name": "gold", "schema": CHOICES_SCHEMA, "gold_rate": 1.0, "quality": quality},
            headers=owner.headers,
        ).json()["id"]
    )
    items: list[Any] = [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(6)]
    client.post(f"/api/v1/projects/{pid}/items", json=items, headers=owner.headers)
    return pid


def _paused(client: TestClient, owner: Person, pid: int) -> list[str]:
    return [
        p["annotator"] for p in client.get(f"/api/v1/projects/{pid}/pauses", headers=owner.headers).json()
    ]


def test_a_lowered_bar_lifts_the_automatic_pauses_it_no_longer_makes(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    policy = {"pause_below": 0.75, "pause_min_gold": 3}
    pid = _gold_project(client, owner, policy)
    mild, poor, held = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("mild", "poor", "held"))
    mild_answers, poor_answers = iter(["pos", "pos", "neg"]), iter(["pos", "neg", "neg"])
    assert len(label(client, mild, pid, lambda it: "neg", limit=3)) == 3  # 0/3: paused
    assert len(label(client, poor, pid, lambda it: next(poor_answers))) == 3  # 1/3: paused
    client.delete(f"/api/v1/projects/{pid}/pauses/{mild.user_id}", headers=owner.headers)
    assert len(label(client, mild, pid, lambda it: next(mild_answers))) == 3  # 2/3 since: paused again
    client.post(
        f"/api/v1/projects/{pid}/pauses",
        json={"user_id": held.user_id, "reason": "training first"},
        headers=owner.headers,
    )
    assert sorted(_paused(client, owner, pid)) == ["held@acme.test", "mild@acme.test", "poor@acme.test"]

    # the manager lowers the bar to 60%: 2/3 (since mild's unpause) passes it, 1/3 does not; a
    # pause by hand is the manager's own and stays
    r = client.patch(
        f"/api/v1/projects/{pid}", json={"quality": {**policy, "pause_below": 0.6}}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert sorted(_paused(client, owner, pid)) == ["held@acme.test", "poor@acme.test"]
    assert client.post(f"/api/v1/projects/{pid}/next", headers=mild.headers).status_code == 204  # not 403
    lifted = client.get(f"/api/v1/projects/{pid}/pauses?lifted=true", headers=owner.headers).json()
    assert [p["lifted_at"] is not None for p in lifted if p["annotator"] == "mild@acme.test"] == [True, True]

    # auto-pause turned off: no automatic pause stands
    client.patch(f"/api/v1/projects/{pid}", json={"quality": {}}, headers=owner.headers)
    assert _paused(client, owner, pid) == ["held@acme.test"]
    with rt.db.session() as s:  # each lift is in the audit log, with the manager whose change made it
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "annotator_unpaused")).all()
        assert sorted((e.details["user_id"], e.actor) for e in events if e.details.get("automatic")) == [
            (mild.user_id, owner.email),
            (poor.user_id, owner.email),
        ]


def test_trashing_a_wrong_gold_task_lifts_the_pauses_it_made(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _gold_project(client, owner, {"pause_below": 0.75, "pause_min_gold": 3})
    ann = make_person(rt, "ann@acme.test", role="annotator")
    answers = iter(["pos", "neg", "neg"])
    done = label(client, ann, pid, lambda it: next(answers))
    assert _paused(client, owner, pid) == ["ann@acme.test"]
    items = client.get(f"/api/v1/projects/{pid}/items", headers=owner.headers).json()
    item_of = {i["task_id"]: i["id"] for i in items}
    wrong = [item_of[t] for t in done[1:]]  # the gold answer was wrong there, not the annotator
    assert (
        client.post("/api/v1/items/delete", json={"ids": wrong[:1]}, headers=owner.headers).status_code == 200
    )
    assert _paused(client, owner, pid) == []  # 1/2 now: under pause_min_gold
    assert client.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).status_code == 200


def test_unpause_lifts_every_active_pause_of_the_annotator(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    # two gold submits of one annotator at once (two live leases) on PostgreSQL can both find
    # them unpaused and both insert a pause (no unique index says one active pause per person);
    # the manager's unpause then lifted one and answered 204 while `next` still said "paused"
    pid = _gold_project(client, owner, {"pause_below": 0.75, "pause_min_gold": 3})
    ann = make_person(rt, "ann@acme.test", role="annotator")
    answers = iter(["neg", "neg", "neg"])
    label(client, ann, pid, lambda it: next(answers))
    with rt.db.session() as s:  # the race's outcome: a second active pause
        first = s.scalars(select(AnnotatorPause).where(AnnotatorPause.user_id == ann.user_id)).one()
        s.add(
            AnnotatorPause(
                workspace_id=first.workspace_id,
                project_id=pid,
                user_id=ann.user_id,
                reason=first.reason,
                details=first.details,
                paused_at=first.paused_at,
            )
        )
    assert _paused(client, owner, pid) == ["ann@acme.test", "ann@acme.test"]
    assert (
        client.delete(f"/api/v1/projects/{pid}/pauses/{ann.user_id}", headers=owner.headers).status_code
        == 204
    )
    assert _paused(client, owner, pid) == []
    assert client.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).status_code == 200
