"""The quality report for every kind of control through the API, on SQLite and PostgreSQL:
multi-choice, spans, rating and a preference leaderboard of models; teams set on memberships;
consensus in CSV exports; and the recompute job whose stored result the report reads."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelhouse.runtime import Runtime
from tests.conftest import CHOICES_SCHEMA, Person, make_person

SCHEMA = {
    "controls": [
        {"name": "tags", "type": "choices", "over": "text", "options": ["x", "y", "z"], "multiple": True},
        {"name": "ents", "type": "spans", "over": "text", "labels": ["PER", "ORG"]},
        {"name": "score", "type": "rating", "min": 1, "max": 5},
        {"name": "pref", "type": "preference", "over": "responses"},
    ]
}
TEXT = "Ada works at Acme"
PER = {"start": 0, "end": 3, "label": "PER"}
ORG = {"start": 13, "end": 17, "label": "ORG"}


def _item(i: int) -> dict[str, Any]:
    # the strong model is shown first on even items, second on odd ones
    pair = [{"model": "strong", "text": "good"}, {"model": "weak", "text": "bad"}]
    return {"text": TEXT, "i": i, "responses": pair if i % 2 == 0 else pair[::-1]}


def _label(c: TestClient, who: Person, pid: int, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    while (r := c.post(f"/api/v1/projects/{pid}/next", headers=who.headers)).status_code == 200:
        h = r.json()
        c.post(
            f"/api/v1/tasks/{h['task']['id']}/annotations",
            json={
                "answer": answer(h["task"]["item"]),
                "lease_id": h["lease"]["id"],
                "idempotency_key": f"{who.email}{h['task']['id']}",
            },
            headers=who.headers,
        ).raise_for_status()


def _all_pos(
    client: TestClient, owner: Person, rt: Runtime, name: str, n: int, people: tuple[str, ...]
) -> int:
    """A choices project of ``n`` items at overlap 2, every item labelled "pos" by each of ``people``."""
    pid = int(
        client.post(
            "/api/v1/projects",
            json={"name": name, "schema": CHOICES_SCHEMA, "overlap": 2},
            headers=owner.headers,
        ).json()["id"]
    )
    client.post(
        f"/api/v1/projects/{pid}/items", json=[{"text": f"t{i}"} for i in range(n)], headers=owner.headers
    )
    for who in people:
        _label(
            client, make_person(rt, f"{who}@acme.test", role="annotator"), pid, lambda _i: {"label": "pos"}
        )
    return pid


def _careful(item: dict[str, Any]) -> dict[str, Any]:
    strong_first = item["responses"][0]["model"] == "strong"
    return {
        "tags": ["x", "y"],
        "ents": [PER, ORG],
        "score": 4,
        "pref": {"winner": "a" if strong_first else "b", "strength": 2},
    }


def _careless(item: dict[str, Any]) -> dict[str, Any]:
    return {"tags": ["z"], "ents": [PER], "score": 1, "pref": {"winner": "a", "strength": 1}}


def test_every_control_in_the_report_with_teams_and_csv_consensus(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = client.post(
        "/api/v1/projects", json={"name": "all", "schema": SCHEMA, "overlap": 3}, headers=owner.headers
    ).json()["id"]
    client.post(f"/api/v1/projects/{pid}/items", json=[_item(i) for i in range(8)], headers=owner.headers)
    people = {n: make_person(rt, f"{n}@acme.test", role="annotator") for n in ("ann", "bob", "eve")}
    for name, team in (("ann", "North"), ("bob", "North"), ("eve", "South")):
        r = client.patch(
            f"/api/v1/members/{people[name].user_id}", json={"team": team}, headers=owner.headers
        )
        assert r.status_code == 200 and r.json()["team"] == team
    assert (
        client.patch(
            f"/api/v1/members/{people['eve'].user_id}", json={"team": "x" * 101}, headers=owner.headers
        )
    ).status_code == 422
    _label(client, people["ann"], pid, _careful)
    _label(client, people["bob"], pid, _careful)
    _label(client, people["eve"], pid, _careless)

    report = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()
    controls = report["controls"]
    assert set(controls) == {"tags", "ents", "score", "pref"}

    tags = controls["tags"]
    assert tags["tasks"] == 8 and all(row["value"] == ["x", "y"] for row in tags["consensus"])
    assert {p["label"] for p in tags["agreement"]["per_label"]} == {"x", "y", "z"}
    pairs = {(p["a"], p["b"]): p for p in tags["agreement"]["pairs"]}
    assert pairs[("ann@acme.test", "bob@acme.test")]["value"] == 1.0
    assert pairs[("ann@acme.test", "eve@acme.test")]["value"] < 0

    ents = controls["ents"]
    spans = [[(x["start"], x["end"], x["label"]) for x in row["value"]] for row in ents["consensus"]]
    assert spans == [[(0, 3, "PER"), (13, 17, "ORG")]] * 8
    assert ents["agreement"]["pair_measure"] == "span_f1"
    f1 = {(p["a"], p["b"]): p["value"] for p in ents["agreement"]["pairs"]}
    assert f1[("ann@acme.test", "eve@acme.test")] == pytest.approx(2 / 3, abs=1e-4)
    assert {p["label"]: p["f1"] for p in ents["agreement"]["per_label"]} == {
        "PER": 1.0,
        "ORG": pytest.approx(1 / 3, abs=1e-4),
    }

    score = controls["score"]
    assert all(row["value"] == 4 for row in score["consensus"]) and score["agreement"]["level"] == "interval"

    pref = controls["pref"]
    board = pref["leaderboard"]
    assert board["ranks"] == "models" and [e["name"] for e in board["entries"]] == ["strong", "weak"]
    assert board["entries"][0]["wins"] == 20 and board["votes"] == 24  # eve picks A: strong on even items
    assert board["entries"][0]["ci95"][0] <= board["entries"][0]["score"] <= board["entries"][0]["ci95"][1]
    assert board["position_bias"]["left_wins"] == 8 + 8
    # net of the models: strong first won 12 of 12, second 8 of 12 (eve picks A), with Haldane's
    # half votes (12.5 * 4.5) / (0.5 * 8.5) = g^2, g / (1 + g) = 0.784
    within = board["position_bias"]["within_pairs"]
    assert (within["pairs"], within["votes"]) == (1, 24) and within["left_rate"] == pytest.approx(
        0.7844, abs=1e-4
    )
    by = {a["annotator"]: a for a in pref["annotators"]}
    assert (
        by["eve@acme.test"]["agreement_with_consensus"] == 0.5
        and by["ann@acme.test"]["agreement_with_consensus"] == 1.0
    )
    assert by["ann@acme.test"]["team"] == "North"

    teams = {t["team"]: t for t in ents["teams"]}
    assert teams["North"]["annotators"] == 2 and teams["North"]["reliability"] > teams["South"]["reliability"]
    weeks = [w for w in ents["weeks"] if w["annotator"] == "eve@acme.test"]
    assert (
        len(weeks) == 1
        and weeks[0]["answers"] == 8
        and weeks[0]["reliability"] == pytest.approx(2 / 3, abs=1e-4)
    )
    # each vendor team over time too: its members' answers of the week, pooled
    by_team = {(w["team"], w["week"]): w for w in ents["team_weeks"]}
    assert {team for team, _week in by_team} == {"North", "South"}
    south = by_team[("South", weeks[0]["week"])]
    assert south["answers"] == 8 and south["reliability"] == weeks[0]["reliability"]
    north = by_team[("North", weeks[0]["week"])]
    assert north["answers"] == 16 and north["reliability"] > south["reliability"]
    assert north["gold_answered"] == 0 and north["gold_accuracy"] is None

    exported = client.get(f"/api/v1/projects/{pid}/export?format=csv", headers=owner.headers).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == 24
    assert {r["consensus.tags"] for r in rows} == {'["x","y"]'} and {r["consensus.tags.n"] for r in rows} == {
        "3"
    }
    assert all(float(r["consensus.pref.confidence"]) > 0.6 for r in rows)


def test_recompute_job_stores_the_report_the_report_reads(
    client: TestClient, owner: Person, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labelhouse.services import quality

    pid = _all_pos(client, owner, rt, "big", 4, ("a1", "a2"))
    missing = client.get(f"/api/v1/projects/{pid}/quality?stored=true", headers=owner.headers)
    assert missing.status_code == 404 and "recompute" in missing.json()["error"]["message"]
    monkeypatch.setattr(quality, "MAX_ANSWERS", 5)  # 8 answers: "too large" for a request
    too_large = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers)
    assert too_large.status_code == 413 and "recompute" in too_large.json()["error"]["message"]

    bad = client.post(f"/api/v1/projects/{pid}/quality/recompute?method=nope", headers=owner.headers)
    assert bad.status_code == 404
    job = client.post(f"/api/v1/projects/{pid}/quality/recompute", headers=owner.headers)
    assert job.status_code == 202 and job.json()["kind"] == "quality" and job.json()["total"] == 11
    deadline = time.monotonic() + 30
    while (state := client.get(f"/api/v1/jobs/{job.json()['id']}", headers=owner.headers).json())[
        "state"
    ] not in (
        "succeeded",
        "failed",
    ):
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    assert state["state"] == "succeeded" and state["done"] == 11, state

    report = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers).json()
    assert report["job_id"] == job.json()["id"] and report["computed_at"]
    assert report["controls"]["label"]["tasks"] == 4 and report["controls"]["label"]["answers"] == 8
    assert client.get(f"/api/v1/projects/{pid}/quality?stored=true", headers=owner.headers).json() == report
    # another method than the stored report's is not silently answered with the stored one
    for query in ("stored=true&method=mv", "method=mv"):
        other = client.get(f"/api/v1/projects/{pid}/quality?{query}", headers=owner.headers)
        assert other.status_code in (404, 413), other.json()
        assert "recompute?method=mv" in other.json()["error"]["message"]
    unknown = client.get(f"/api/v1/projects/{pid}/quality?stored=true&method=nope", headers=owner.headers)
    assert unknown.status_code == 404 and "known:" in unknown.json()["error"]["message"]


def test_cli_recompute_with_progress_then_stored_report(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    from click.testing import CliRunner

    from labelhouse.cli.main import main

    pid = client.post(
        "/api/v1/projects", json={"name": "cli", "schema": SCHEMA, "overlap": 2}, headers=owner.headers
    ).json()["id"]
    client.post(f"/api/v1/projects/{pid}/items", json=[_item(i) for i in range(4)], headers=owner.headers)
    _label(client, make_person(rt, "c1@acme.test", role="annotator"), pid, _careful)
    _label(client, make_person(rt, "c2@acme.test", role="annotator"), pid, _careless)
    state = ["--data", str(rt.settings.data_dir)]
    if rt.settings.database_url:
        state += ["--database-url", rt.settings.database_url]
    runner = CliRunner()
    out = runner.invoke(main, ["quality", "recompute", str(pid), *state])
    assert out.exit_code == 0, out.output
    assert "recomputing quality" in out.stderr and "stored the report" in out.stdout
    stored = runner.invoke(main, ["quality", "report", str(pid), "--stored", *state])
    assert stored.exit_code == 0, stored.output
    text = stored.stdout
    assert "stored report computed at" in text and "pref [preference]" in text and "ents [spans]" in text
    assert "leaderboard (models" in text and "position bias" in text and "mean pairwise span_f1" in text
    team = runner.invoke(main, ["users", "team", "c1@acme.test", "Vendor C", "--workspace", "acme", *state])
    assert team.exit_code == 0 and "is in team Vendor C" in team.stdout, team.output
    members = {m["email"]: m for m in client.get("/api/v1/members", headers=owner.headers).json()}
    assert members["c1@acme.test"]["team"] == "Vendor C"
    nobody = runner.invoke(main, ["users", "team", "nobody@acme.test", "X", "--workspace", "acme", *state])
    assert nobody.exit_code != 0 and "not a member" in nobody.output
    missing = runner.invoke(main, ["quality", "report", "999", *state])
    assert missing.exit_code != 0 and "not found" in missing.output


def test_report_after_a_control_changed_type_reads_only_the_answers_that_fit(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    # answers are kept as made when the schema changes (docs/security.md, D-06); the report ran
    # the new type's rule on the old answers (a 500)
    pid = _all_pos(client, owner, rt, "changed", 2, ("o1", "o2"))
    rating = {"controls": [{"name": "label", "type": "rating", "over": "text", "min": 1, "max": 5}]}
    client.patch(f"/api/v1/projects/{pid}", json={"schema": rating}, headers=owner.headers).raise_for_status()
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "new"}], headers=owner.headers)
    for name in ("n1", "n2"):
        _label(client, make_person(rt, f"{name}@acme.test", role="annotator"), pid, lambda _i: {"label": 4})
    r = client.get(f"/api/v1/projects/{pid}/quality", headers=owner.headers)
    assert r.status_code == 200, r.text
    section = r.json()["controls"]["label"]
    assert section["type"] == "rating" and section["answers"] == 2
    assert section["consensus"][0]["value"] == 4
    # a review decision recomputes the task's stored consensus, and the export computes one where
    # it is stale: both ran the rating rule on "pos" (500s)
    held = client.post(f"/api/v1/projects/{pid}/review/next", headers=owner.headers).json()
    old = next(a for a in held["annotations"] if a["answer"] == {"label": "pos"})
    decided = client.post(
        f"/api/v1/annotations/{old['id']}/review",
        json={"decision": "correct", "answer": {"label": 2}},
        headers=owner.headers,
    )
    assert decided.status_code == 201, decided.text
    for fmt in ("jsonl", "csv"):
        r = client.get(f"/api/v1/projects/{pid}/export?format={fmt}", headers=owner.headers)
        assert r.status_code == 200 and "pos" in r.text, r.text
