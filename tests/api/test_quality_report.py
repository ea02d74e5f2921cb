"""A project's quality report through the API and `labelhouse quality PROJECT`: consensus with
confidence, reliability that ranks a careless annotator last, gold scores with intervals."""

from __future__ import annotations

import random

import orjson
from click.testing import CliRunner
from fastapi.testclient import TestClient

from labelhouse.cli.main import main
from labelhouse.runtime import Runtime
from labelhouse.services.quality import wilson
from tests.conftest import CHOICES_SCHEMA, Person, make_person


def _label(c: TestClient, who: Person, pid: int, pick) -> None:  # type: ignore[no-untyped-def]
    while (r := c.post(f"/api/v1/projects/{pid}/next", headers=who.headers)).status_code == 200:
        h = r.json()
        c.post(
            f"/api/v1/tasks/{h['task']['id']}/annotations",
            json={
                "answer": {"label": pick(h["task"]["item"])},
                "lease_id": h["lease"]["id"],
                "idempotency_key": f"{who.email}{h['task']['id']}",
            },
            headers=who.headers,
        )


def test_report_ranks_annotators_and_scores_gold(client: TestClient, owner: Person, rt: Runtime) -> None:
    pid = client.post(
        "/api/v1/projects",
        json={"name": "q", "schema": CHOICES_SCHEMA, "overlap": 3, "gold_rate": 1.0},
        headers=owner.headers,
    ).json()["id"]
    items = [{"text": f"t{i}", "truth": "pos" if i % 3 else "neg"} for i in range(30)]
    items.append({"data": {"text": "gold one", "truth": "pos"}, "gold": {"label": "pos"}})
    assert (
        client.post(f"/api/v1/projects/{pid}/items", json=items, headers=owner.headers).json()["created"]
        == 31
    )
    rng = random.Random(3)
    good1, good2, careless = (
        make_person(rt, f"{n}@acme.test", role="annotator") for n in ("good1", "good2", "careless")
    )
    _label(client, good1, pid, lambda item: item["truth"])
    _label(client, good2, pid, lambda item: item["truth"])
    _label(
        client,
        careless,
        pid,
        lambda item: rng.choice(["pos", "neg"]) if item["text"] != "gold one" else "neg",
    )

    report = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()["controls"]["label"]
    assert report["tasks"] == 30 and report["answers"] == 90
    assert report["mean_confidence"] > 0.8
    # "low" is the project's review_below (default 0.8); raised to 1, every task is below it
    assert report["low_confidence_below"] == 0.8
    assert report["low_confidence_tasks"] == sum(1 for r in report["consensus"] if r["confidence"] < 0.8)
    client.patch(f"/api/v1/projects/{pid}", json={"quality": {"review_below": 1.0}}, headers=owner.headers)
    strict = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()["controls"]["label"]
    assert strict["low_confidence_below"] == 1.0
    assert strict["low_confidence_tasks"] == sum(1 for r in strict["consensus"] if r["confidence"] < 1.0)
    client.patch(f"/api/v1/projects/{pid}", json={"quality": {}}, headers=owner.headers)
    by = {a["annotator"]: a for a in report["annotators"]}
    assert by["careless@acme.test"]["reliability"] < min(
        by["good1@acme.test"]["reliability"], by["good2@acme.test"]["reliability"]
    )
    assert by["careless@acme.test"]["gold"] == {
        "answered": 1,
        "correct": 0,
        "accuracy": 0.0,
        "ci95": [0.0, round(wilson(0, 1)[1], 4)],
    }
    assert by["good1@acme.test"]["gold"]["correct"] == 1
    truth = {i + 1: it["truth"] for i, it in enumerate(items[:30])}  # task ids follow import order
    assert len(report["consensus"]) == 30
    assert all(
        row["label"] == truth[row["task_id"]] and 0.5 <= row["confidence"] <= 1 for row in report["consensus"]
    )
    assert client.get(f"/api/v1/projects/{pid}/quality", headers=good1.headers).status_code == 403

    # exports carry each task's consensus, its confidence and how many annotations it rests on
    lines = [
        orjson.loads(x)
        for x in client.get(f"/api/v1/projects/{pid}/export", headers=owner.headers).content.splitlines()
    ]
    assert len(lines) == 30
    for line in lines:
        agreed = line["consensus"]["label"]
        assert agreed["n"] == 3 and agreed["value"] == truth[line["task_id"]] and agreed["confidence"] >= 0.6

    args = ["quality", str(pid), "--data", str(rt.settings.data_dir)]
    if rt.settings.database_url:
        args += ["--database-url", rt.settings.database_url]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "careless@acme.test" in out.output and "30 tasks" in out.output


def test_wilson_interval() -> None:
    lo, hi = wilson(8, 10)
    assert 0.49 < lo < 0.5 and 0.94 < hi < 0.95
    assert wilson(0, 0) == (0.0, 1.0)


def test_report_of_an_overlap_one_project_with_a_gold_only_annotator(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    # no task has two answers: nothing to estimate reliability or agreement from, so those are
    # null (never NaN, never a division by zero); gold scores stand on their own
    pid = client.post(
        "/api/v1/projects",
        json={"name": "one", "schema": CHOICES_SCHEMA, "overlap": 1, "gold_rate": 1.0},
        headers=owner.headers,
    ).json()["id"]
    gold = [{"data": {"text": "g"}, "gold": {"label": "pos"}}]
    client.post(f"/api/v1/projects/{pid}/items", json=gold, headers=owner.headers)
    only_gold, worker = (make_person(rt, f"{n}@acme.test", role="annotator") for n in ("gold", "work"))
    client.patch(f"/api/v1/members/{only_gold.user_id}", json={"team": "V"}, headers=owner.headers)
    _label(client, only_gold, pid, lambda item: "neg")
    client.post(
        f"/api/v1/projects/{pid}/items", json=[{"text": f"t{i}"} for i in range(3)], headers=owner.headers
    )
    _label(client, worker, pid, lambda item: "pos")

    r = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers)
    assert r.status_code == 200 and "NaN" not in r.text and "Infinity" not in r.text
    section = r.json()["controls"]["label"]
    assert section["tasks"] == 3 and section["answers"] == 3
    assert section["agreement"]["krippendorff_alpha"] is None and section["agreement"]["pairs"] == []
    by = {a["annotator"]: a for a in section["annotators"]}
    assert by["gold@acme.test"] == {
        "annotator": "gold@acme.test",
        "answers": 0,
        "reliability": None,
        "agreement_with_consensus": None,
        "gold": {"answered": 1, "correct": 0, "accuracy": 0.0, "ci95": [0.0, round(wilson(0, 1)[1], 4)]},
        "team": "V",
    }
    assert by["work@acme.test"]["reliability"] is None  # gold first too (rate 1): right on it
    assert by["work@acme.test"]["gold"] == {
        "answered": 1,
        "correct": 1,
        "accuracy": 1.0,
        "ci95": [0.2065, 1.0],
    }
    teams = {t["team"]: t for t in section["teams"]}
    assert teams["V"]["reliability"] is None and teams["V"]["gold"]["accuracy"] == 0.0
    assert teams[None]["reliability"] is None and teams[None]["answers"] == 3
    weeks = {w["team"]: w for w in section["team_weeks"]}
    assert weeks["V"]["answers"] == 0 and weeks["V"]["reliability"] is None  # no shared answer to score
    assert weeks["V"]["gold_accuracy"] == 0.0 and weeks[None]["gold_accuracy"] == 1.0
