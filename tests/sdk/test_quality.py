"""The SDK's quality calls against the real server: a member's vendor team, the report with teams
and agreement, and a recompute job followed to its stored report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from labelhouse.runtime import Runtime
from labelhouse.sdk import Client, NotFound
from tests.conftest import CHOICES_SCHEMA, make_person


def test_teams_report_and_recompute(
    lh: Client, rt: Runtime, connect: Callable[[str], Client], capsys: pytest.CaptureFixture[str]
) -> None:
    project = lh.projects.create("sdk-quality", CHOICES_SCHEMA, overlap=2)
    lh.items.import_records(project["id"], [{"text": "a"}, {"text": "b"}])
    north = lh.members.add("n@acme.test", "annotator", password="a long password 1", team=" North ")
    assert north["team"] == "North"
    south = make_person(rt, "s@acme.test", role="annotator")
    assert lh.members.update(south.user_id, team="South")["team"] == "South"
    assert lh.members.update(north["user_id"], team="")["team"] is None
    assert lh.members.update(north["user_id"], team="North")["team"] == "North"
    with pytest.raises(NotFound, match="recompute"):
        lh.quality.report(project["id"], stored=True)

    s = connect(south.token)
    north_person = make_person(rt, "n@acme.test", role="annotator")
    for client in (connect(north_person.token), s):
        while (task := client.next(project["id"])) is not None:
            client.submit(task, {"label": "pos"})
    report = lh.quality.report(project["id"])["controls"]["label"]
    assert {t["team"] for t in report["teams"]} == {"North", "South"}
    assert report["agreement"]["pairs"][0]["items"] == 2

    stored = lh.quality.recompute(project["id"], wait=True)
    assert stored["job_id"] and stored["controls"]["label"]["answers"] == 4
    job = lh.quality.recompute(project["id"], method="mv")
    assert job["kind"] == "quality" and lh.jobs.wait(job["id"])["state"] == "succeeded"
    again = lh.quality.recompute(project["id"], method="mv")
    lh.jobs.wait(again["id"], progress=True)
    assert "steps" in capsys.readouterr().err  # a recompute's bar counts steps, not rows
    assert lh.quality.report(project["id"], stored=True)["method"] == "mv"


def test_a_preference_leaderboard_with_position_bias_through_the_sdk(
    lh: Client, rt: Runtime, connect: Callable[[str], Client]
) -> None:
    schema = {"controls": [{"name": "pref", "type": "preference", "over": "responses"}]}
    project = lh.projects.create("sdk-arena", schema, overlap=4)
    pair = [{"model": "x", "text": "good"}, {"model": "y", "text": "fine"}]
    lh.items.import_records(
        project["id"], [{"i": i, "responses": pair if i % 2 == 0 else pair[::-1]} for i in range(4)]
    )

    def picks(who: str, item: dict[str, Any]) -> str:
        x_first = item["responses"][0]["model"] == "x"
        if who == "lefty":
            return "a"
        if who == "contrarian":  # always y
            return "b" if x_first else "a"
        return "a" if x_first else "b"  # always x

    for who in ("ann", "bob", "lefty", "contrarian"):
        client = connect(make_person(rt, f"{who}@acme.test", role="annotator").token)
        while (task := client.next(project["id"])) is not None:
            client.submit(task, {"pref": {"winner": picks(who, task.item)}})

    report = lh.quality.report(project["id"])["controls"]["pref"]
    board = report["leaderboard"]
    assert board["ranks"] == "models" and board["votes"] == 16 and board["groups"] == 1
    assert [(e["name"], e["wins"], e["losses"]) for e in board["entries"]] == [("x", 10, 6), ("y", 6, 10)]
    bias = board["position_bias"]
    assert (bias["left_wins"], bias["right_wins"]) == (10, 6)
    # x shown first wins 6 of 8, shown second 4 of 8: odds ratio 6*4 / (2*4) = 3, g = sqrt(3)
    within = bias["within_pairs"]
    assert (
        within["pairs"] == 1
        and within["votes"] == 16
        and within["left_rate"] == pytest.approx(0.634, abs=1e-3)
    )
    stored = lh.quality.recompute(project["id"], wait=True)
    assert stored["controls"]["pref"]["leaderboard"] == board
