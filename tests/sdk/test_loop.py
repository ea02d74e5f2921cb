"""The whole labeling loop through the SDK, over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelhouse.runtime import Runtime
from labelhouse.sdk import Client, Conflict
from tests.conftest import CHOICES_SCHEMA, Person, make_person


def test_create_import_label_export(lh: Client, server: str, rt: Runtime, tmp_path: Path) -> None:
    project = lh.projects.create("sentiment", CHOICES_SCHEMA, description="reviews")
    pid = project["id"]
    assert lh.projects.get(pid)["description"] == "reviews"
    assert [p["id"] for p in lh.projects.list()] == [pid]

    counts = lh.items.import_records(pid, ({"text": f"row {i}"} for i in range(7)), batch_size=3)
    assert counts == {"created": 7, "duplicates": 0, "failed": 0, "errors": []}

    annotator = make_person(rt, "ann@acme.test", role="annotator")
    labels = {}
    with Client(server, annotator.token) as worker:
        while (task := worker.next(pid)) is not None:
            assert task.project_id == pid and task.lease_id > 0
            label = "pos" if int(task.item["text"].split()[1]) % 2 == 0 else "neg"
            done = worker.submit(task, {"label": label}, lead_time_s=1.5)
            assert (done["task_id"], done["answer"]) == (task.id, {"label": label})
            labels[task.item["text"]] = label
    assert len(labels) == 7

    records = list(lh.export_records(pid))
    assert len(records) == 7
    assert {r["item"]["text"]: r["annotations"][0]["answer"]["label"] for r in records} == labels
    assert all(len(r["annotations"]) == 1 for r in records)
    assert {r["annotations"][0]["annotator"] for r in records} == {"ann@acme.test"}
    assert {r["annotations"][0]["lead_time_s"] for r in records} == {1.5}

    target = lh.export(pid, "jsonl", tmp_path / "out.jsonl")
    assert target.read_bytes().count(b"\n") == 7
    assert not (tmp_path / "out.jsonl.part").exists()
    csv_lines = b"".join(lh.export(pid, "csv")).decode().splitlines()
    assert len(csv_lines) == 8 and "answer.label" in csv_lines[0]
    stats = lh.projects.stats(pid)
    assert (stats["tasks"], stats["complete"], stats["left"]) == (7, 7, 0)
    report = lh.projects.quality(pid, method="mv")["controls"]["label"]
    assert (report["method"], report["tasks"], report["answers"]) == ("mv", 7, 7)
    assert {row["label"] for row in report["consensus"]} == set(labels.values())


def test_drafts_release_skip_and_versions(lh: Client, server: str, rt: Runtime, owner: Person) -> None:
    pid = lh.projects.create("sentiment", CHOICES_SCHEMA)["id"]
    lh.items.import_records(pid, [{"text": "a"}, {"text": "b"}])
    annotator = make_person(rt, "ann@acme.test", role="annotator")
    with Client(server, annotator.token) as worker:
        first = worker.next(pid)
        assert first is not None
        assert worker.next(pid) == first  # asking again returns the same lease
        worker.save_draft(first.id, {"label": "neg"})
        assert worker.get_draft(first.id) == {"label": "neg"}
        worker.release(first)
        again = worker.next(pid)
        assert again is not None and again.draft == {"label": "neg"}
        worker.skip(again)
        with_lease = worker.next(pid)
        assert with_lease is not None and with_lease.id != again.id
        worker.release(with_lease)
        with pytest.raises(Conflict):  # the lease is gone
            worker.submit(with_lease, {"label": "pos"})
        task = worker.next(pid)
        assert task is not None
        done = worker.submit(task, {"label": "pos"})

    edited = lh.annotations.edit(done["id"], {"label": "neg"})
    assert edited["version"] == 2
    assert [a["answer"] for a in lh.annotations.list(task.id)] == [{"label": "neg"}]
    assert len(lh.annotations.list(task.id, all_versions=True)) == 2
    assert lh.annotations.get(edited["id"])["is_latest"] is True
