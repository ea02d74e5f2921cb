"""The SDK's review queue and quality calls against the real server: a reviewer rejects a
careless answer, a manager pauses and unpauses an annotator, and the paused one is told why."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from labelhouse.runtime import Runtime
from labelhouse.sdk import Client, Forbidden
from tests.conftest import CHOICES_SCHEMA, make_person


def test_review_and_pause_through_the_sdk(lh: Client, rt: Runtime, connect: Callable[[str], Client]) -> None:
    project = lh.projects.create("sdk-review", CHOICES_SCHEMA, quality={"review_below": 0.9})
    assert project["quality"]["review_below"] == 0.9 and project["quality"]["target_confidence"] is None
    lh.items.import_records(project["id"], [{"text": "a"}, {"text": "b"}])
    worker = make_person(rt, "w@acme.test", role="annotator")
    reviewer = make_person(rt, "r@acme.test", role="reviewer")
    w, r = connect(worker.token), connect(reviewer.token)
    task = w.next(project["id"])
    assert task is not None
    annotation = w.submit(task, {"label": "neg"})

    got = r.reviews.next(project["id"])
    assert got is not None and got["task"]["id"] == task.id and got["route"] == "low_confidence"
    decision = r.reviews.reject(annotation["id"], "this one is positive")
    assert decision["decision"] == "rejected"
    assert [d["reason"] for d in w.reviews.list(task.id)] == ["this one is positive"]
    assert r.reviews.next(project["id"]) is None  # the rejected task waits for a new label

    lh.quality.pause(project["id"], worker.user_id, "read the guidelines again")
    assert [p["annotator"] for p in lh.quality.pauses(project["id"])] == ["w@acme.test"]
    with pytest.raises(Forbidden, match="read the guidelines again"):
        w.next(project["id"])
    lh.quality.unpause(project["id"], worker.user_id)
    assert lh.quality.pauses(project["id"]) == []
    assert len(lh.quality.pauses(project["id"], lifted=True)) == 1
    again = w.next(project["id"])
    assert again is not None and again.id != task.id
    w.submit(again, {"label": "pos"})
    # the rejected answer no longer counts
    assert lh.quality.report(project["id"])["controls"]["label"]["answers"] == 1
