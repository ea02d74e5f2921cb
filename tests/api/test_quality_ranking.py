"""A ranking project's quality report through the API, on SQLite and PostgreSQL: k-way rankings
as pairwise votes in the leaderboard of models, position bias, each annotator's agreement with
the consensus, and an edited answer counted once (its latest version)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelhouse.runtime import Runtime
from tests.conftest import Person, make_person

SCHEMA = {"controls": [{"name": "rank", "type": "ranking", "over": "responses"}]}
MODELS = ["best", "mid", "worst"]


def _item(i: int) -> dict[str, Any]:
    r = i % 3  # the models are shown in three rotations
    return {"prompt": f"p{i}", "responses": [{"model": m, "text": m} for m in MODELS[r:] + MODELS[:r]]}


def _true_order(item: dict[str, Any]) -> list[int]:
    shown = [r["model"] for r in item["responses"]]
    return [shown.index(m) for m in MODELS]


def _label(c: TestClient, who: Person, pid: int, answer: Callable[[dict[str, Any]], list[int]]) -> list[int]:
    ids = []
    while (r := c.post(f"/api/v1/projects/{pid}/next", headers=who.headers)).status_code == 200:
        h = r.json()
        done = c.post(
            f"/api/v1/tasks/{h['task']['id']}/annotations",
            json={
                "answer": {"rank": answer(h["task"]["item"])},
                "lease_id": h["lease"]["id"],
                "idempotency_key": f"{who.email}{h['task']['id']}",
            },
            headers=who.headers,
        )
        done.raise_for_status()
        ids.append(int(done.json()["id"]))
    return ids


def test_rankings_make_a_leaderboard_with_position_bias_and_agreement(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = client.post(
        "/api/v1/projects", json={"name": "rank", "schema": SCHEMA, "overlap": 4}, headers=owner.headers
    ).json()["id"]
    client.post(f"/api/v1/projects/{pid}/items", json=[_item(i) for i in range(6)], headers=owner.headers)
    people = {n: make_person(rt, f"{n}@acme.test", role="annotator") for n in ("ann", "bob", "cat", "eve")}
    for careful in ("ann", "bob", "cat"):
        _label(client, people[careful], pid, _true_order)
    # eve first answers the reverse of the shown order, then edits every answer to the shown order
    first = _label(client, people["eve"], pid, lambda item: [2, 1, 0])
    for annotation in first:
        client.put(
            f"/api/v1/annotations/{annotation}",
            json={"answer": {"rank": [0, 1, 2]}},
            headers=people["eve"].headers,
        ).raise_for_status()

    section = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()["controls"]["rank"]
    board = section["leaderboard"]
    # 4 annotators x 6 items x 3 pairs, each answer once (eve's first versions do not count)
    assert board["votes"] == 72 and board["ranks"] == "models" and board["groups"] == 1
    assert [e["name"] for e in board["entries"]] == MODELS
    record = {e["name"]: (e["wins"], e["losses"], e["ties"]) for e in board["entries"]}
    # best: 2 wins an item from each careful one; from eve 2, 0 and 1 over the three rotations
    assert record["best"] == (36 + 6, 48 - 36 - 6, 0)
    for e in board["entries"]:
        assert e["ci95"][0] <= e["score"] <= e["ci95"][1]
    # the response listed first wins: each careful one 5 of 9 pairs per three items, eve always
    bias = board["position_bias"]
    assert (bias["left_wins"], bias["right_wins"], bias["ties"]) == (30 + 18, 24, 0)
    assert bias["left_rate"] == pytest.approx(48 / 72, abs=1e-4)
    assert bias["ci95"][0] < bias["left_rate"] < bias["ci95"][1]

    by = {a["annotator"]: a for a in section["annotators"]}
    assert by["ann@acme.test"]["agreement_with_consensus"] == 1.0
    assert by["bob@acme.test"]["agreement_with_consensus"] == 1.0
    assert by["cat@acme.test"]["agreement_with_consensus"] == 1.0
    # eve's shown order against the true one: (tau + 1) / 2 = 1, 1/3, 1/3 over the rotations
    assert by["eve@acme.test"]["agreement_with_consensus"] == pytest.approx(5 / 9, abs=1e-4)
    assert all(row["value"] == _true_order(_item(i)) for i, row in enumerate(section["consensus"]))
