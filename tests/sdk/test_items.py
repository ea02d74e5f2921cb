"""Items in and out through the SDK: records in batches, files inline and as jobs, trash."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from labelhouse.sdk import Client, TooLarge
from tests.conftest import CHOICES_SCHEMA, Person


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_import_records_sums_batches_and_numbers_bad_rows_over_all(lh: Client) -> None:
    pid = lh.projects.create("p", CHOICES_SCHEMA)["id"]
    rows: list[dict[str, Any]] = [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"nope": 1}, {"text": "a"}]
    out = lh.items.import_records(pid, rows, batch_size=2)
    assert (out["created"], out["duplicates"], out["failed"]) == (3, 1, 1)
    assert [e["line"] for e in out["errors"]] == [4]  # the 4th record, though the 2nd of its batch
    again = lh.items.import_records(pid, iter(rows), batch_size=10)
    assert (again["created"], again["duplicates"]) == (0, 4)


def test_import_file_inline(lh: Client, tmp_path: Path) -> None:
    pid = lh.projects.create("p", CHOICES_SCHEMA)["id"]
    path = _jsonl(tmp_path / "rows.jsonl", [{"text": f"r{i}"} for i in range(25)])
    out = lh.items.import_file(pid, path)
    assert (out["created"], out["failed"]) == (25, 0)
    first = lh.items.list(pid, limit=10)
    rest = lh.items.list(pid, after=first[-1]["id"], limit=100)
    assert [i["data"]["text"] for i in first + rest] == [f"r{i}" for i in range(25)]


def test_import_file_as_a_job(server_with: Callable[..., str], owner: Person, tmp_path: Path) -> None:
    job_server = server_with(inline_import_mb=0)  # every import becomes a job
    path = _jsonl(tmp_path / "rows.ndjson", [{"text": f"r{i}"} for i in range(40)] + [{"bad": True}])
    seen: list[tuple[str, int]] = []
    hooks = {"response": [lambda r: seen.append((r.request.url.path, r.status_code))]}
    with httpx.Client(event_hooks=hooks) as http, Client(job_server, owner.token, http=http) as lh:
        pid = lh.projects.create("p", CHOICES_SCHEMA)["id"]
        out = lh.items.import_file(pid, path, progress=True)
        assert (f"/api/v1/projects/{pid}/items", 202) in seen
        assert any(p.startswith("/api/v1/jobs/") for p, _ in seen)
        assert (out["created"], out["failed"]) == (40, 1)
        assert out["errors"][0]["line"] == 41
        assert lh.projects.stats(pid)["tasks"] == 40


def test_import_file_format_is_explicit_or_from_the_suffix(lh: Client, tmp_path: Path) -> None:
    pid = lh.projects.create("p", CHOICES_SCHEMA)["id"]
    csv = tmp_path / "rows.txt"
    csv.write_text("text\nhello\nworld\n")
    assert lh.items.import_file(pid, csv, format="csv")["created"] == 2
    array = tmp_path / "rows.json"
    array.write_text(json.dumps([{"text": "x"}]))
    assert lh.items.import_file(pid, array)["created"] == 1


def test_delete_restore_and_purge(lh: Client) -> None:
    pid = lh.projects.create("p", CHOICES_SCHEMA)["id"]
    lh.items.import_records(pid, [{"text": "a"}, {"text": "b"}])
    ids = [i["id"] for i in lh.items.list(pid)]
    assert lh.items.delete(ids) == 2
    assert lh.items.list(pid) == []
    trashed = {(t["kind"], t["id"]) for t in lh.trash.list()}
    assert trashed == {("item", ids[0]), ("item", ids[1])}
    lh.trash.restore("item", ids[0])
    assert [i["id"] for i in lh.items.list(pid)] == [ids[0]]
    assert lh.trash.purge("item", ids[1]) == 1
    lh.projects.delete(pid)
    assert lh.projects.list() == []
    assert lh.trash.purge() == 1
    assert lh.trash.list() == []
    with pytest.raises(ValueError):
        lh.trash.purge("item")


def test_a_file_over_the_limit_is_refused_before_upload(
    server_with: Callable[..., str], owner: Person, tmp_path: Path
) -> None:
    big = _jsonl(tmp_path / "big.jsonl", [{"text": "x" * 1000 + str(i)} for i in range(1500)])
    assert big.stat().st_size > 1024 * 1024
    with Client(server_with(max_body_mb=1), owner.token) as lh:
        pid = lh.projects.create("p", CHOICES_SCHEMA)["id"]
        with pytest.raises(TooLarge) as caught:
            lh.items.import_file(pid, big)
        assert caught.value.status == 413 and "LABELHOUSE_MAX_BODY_MB" in caught.value.message
        assert lh.projects.stats(pid)["tasks"] == 0
