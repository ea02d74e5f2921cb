"""The SDK's quality calls against the real server: a member's vendor team, the report with teams
and agreement, and a recompute job followed to its stored report."""

from __future__ import annotations

from collections.abc import Callable

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
