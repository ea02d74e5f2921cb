"""The bulk import path (services/items.py): a batch is sealed in one pass and written with one
INSERT for its items and one for their tasks; items with a priority, a gold answer or skills get
their task updated afterwards. These check what that must keep: file order, the envelope's
fields on the task, line-numbered errors, deduplication within a batch and across re-imports."""

from __future__ import annotations

import binascii
import io
from typing import Any

import orjson
import pytest

from labelhouse.formats.jsonl import JsonlReader
from labelhouse.runtime import Runtime
from labelhouse.security.sealing import ITEM_PREFIX, Tampered, Vault, sealed_version
from labelhouse.services import items, projects
from labelhouse.services.accounts import actor_for
from labelhouse.services.clock import utcnow
from labelhouse.services.item_data import open_fields
from labelhouse.storage.rawsql import json_value
from tests.conftest import CHOICES_SCHEMA, make_person

LINES = [
    b'{"text": "first"}',
    b'{"data": {"text": "urgent"}, "priority": 5}',
    b"",  # blank: skipped, still counted
    b'{"data": {"text": "gold one"}, "gold": {"label": "pos"}}',
    b"{not json",
    b'{"data": {"text": "skilled"}, "skills": ["de", "legal"]}',
    b'{"text": "first"}',  # the same item as line 1: a duplicate
    b'{"other": "no text field"}',
    b'{"text": "last", "n": 7}',
]


def _import(rt: Runtime, actor: Any, pid: int, lines: list[bytes], batch_size: int) -> items.ImportResult:
    rows = JsonlReader().read(io.BytesIO(b"\n".join(lines) + b"\n"))
    return items.import_stream(
        rt.db.session, actor, pid, rows, blobs=rt.blobs, now=utcnow, batch_size=batch_size
    )


def _stored(rt: Runtime, pid: int) -> list[dict[str, Any]]:
    with rt.db.raw(write=False) as db:
        rows = db.all(
            "SELECT i.id, i.workspace_id, i.content_hash, i.data, t.id, t.queue_rank, t.is_gold, "
            "t.gold_answer, t.skills, t.state, t.overlap FROM items i JOIN tasks t ON t.item_id = i.id "
            "WHERE i.project_id = :p ORDER BY i.id",
            {"p": pid},
        )
        return [
            {
                "item": r[0],
                "fields": open_fields(db, r[1], pid, r[2], r[3]),
                "task": r[4],
                "rank": r[5],
                "gold": bool(r[6]),
                "answer": None if r[7] is None else json_value(r[7]),
                "skills": None if r[8] is None else json_value(r[8]),
                "state": r[9],
                "overlap": r[10],
            }
            for r in rows
        ]


def test_bulk_import_keeps_order_envelope_fields_errors_and_dedup(rt: Runtime) -> None:
    owner = make_person(rt, "owner@acme.test")
    with rt.db.session() as s:
        actor = actor_for(s, owner.workspace_id, owner.user_id)
        settings = projects.ProjectSettings(name="bulk", schema=CHOICES_SCHEMA, overlap=2)
        pid = projects.create_project(s, actor, settings, now=utcnow()).id

    # Batches of 3 rows: the duplicate of line 1 falls in a later batch than line 1.
    result = _import(rt, actor, pid, LINES, batch_size=3)
    assert (result.created, result.duplicates, result.failed) == (5, 1, 2)
    assert [e["line"] for e in result.errors] == [5, 8]
    assert "not valid JSON" in result.errors[0]["message"]
    assert "no field 'text'" in result.errors[1]["message"]

    stored = _stored(rt, pid)
    texts = [r["fields"]["text"] for r in stored]
    assert texts == ["first", "urgent", "gold one", "skilled", "last"], texts
    assert stored[4]["fields"] == {"text": "last", "n": 7}
    # One task per item, in item order, with what the envelope asked for.
    assert [r["task"] for r in stored] == sorted(r["task"] for r in stored)
    assert all(r["state"] == "open" and r["overlap"] == 2 for r in stored)
    assert [r["rank"] for r in stored] == [0, -5, 0, 0, 0]
    assert [r["gold"] for r in stored] == [False, False, True, False, False]
    assert stored[2]["answer"] == {"label": "pos"}
    assert [r["skills"] for r in stored] == [None, None, None, ["de", "legal"], None]
    assert all(r["answer"] is None for i, r in enumerate(stored) if i != 2)

    # Re-importing (another batch size) creates nothing and leaves the tasks as they were.
    again = _import(rt, actor, pid, LINES, batch_size=4)
    assert (again.created, again.duplicates, again.failed) == (0, 6, 2)
    assert _stored(rt, pid) == stored
    with rt.db.raw(write=False) as db:
        counts = db.first(
            "SELECT (SELECT COUNT(*) FROM items WHERE project_id = :p), "
            "(SELECT COUNT(*) FROM tasks WHERE project_id = :p)",
            {"p": pid},
        )
    assert counts == (5, 5)


def test_bulk_import_into_two_projects_keeps_each_projects_items(rt: Runtime) -> None:
    """Equal items in two projects are two items; a batch's tasks are made from its own rows."""
    owner = make_person(rt, "owner@acme.test")
    with rt.db.session() as s:
        actor = actor_for(s, owner.workspace_id, owner.user_id)
        made = [
            projects.create_project(
                s, actor, projects.ProjectSettings(name=f"p{i}", schema=CHOICES_SCHEMA), now=utcnow()
            ).id
            for i in range(2)
        ]
    lines = [orjson.dumps({"text": f"item {i}"}) for i in range(50)]
    first = _import(rt, actor, made[0], lines[:30], batch_size=7)
    second = _import(rt, actor, made[1], lines, batch_size=7)
    assert (first.created, second.created) == (30, 50)
    third = _import(rt, actor, made[0], lines, batch_size=7)
    assert (third.created, third.duplicates) == (20, 30)
    for pid, n in ((made[0], 50), (made[1], 50)):
        stored = _stored(rt, pid)
        assert len(stored) == n
        assert sorted(r["fields"]["text"] for r in stored) == sorted(f"item {i}" for i in range(50))
    with rt.db.raw(write=False) as db:
        mismatched = db.first(
            "SELECT COUNT(*) FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.project_id <> i.project_id",
            {},
        )
    assert mismatched == (0,)


def test_a_batch_of_large_items_goes_in_with_several_statements(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past STATEMENT_BYTES of item data a batch is split over several INSERTs: ids, order,
    duplicates (one in the first part, one across parts) and tasks come out the same."""
    monkeypatch.setattr(items, "STATEMENT_BYTES", 2000)
    owner = make_person(rt, "owner@acme.test")
    with rt.db.session() as s:
        actor = actor_for(s, owner.workspace_id, owner.user_id)
        pid = projects.create_project(
            s, actor, projects.ProjectSettings(name="big", schema=CHOICES_SCHEMA), now=utcnow()
        ).id
    lines = [orjson.dumps({"text": f"{i} " + "x" * 400}) for i in range(40)]
    first = _import(rt, actor, pid, lines[:25], batch_size=100)
    assert (first.created, first.duplicates) == (25, 0)
    # One batch: 15 new items between 25 already there, in parts of a few items each.
    second = _import(rt, actor, pid, lines[::-1] + [lines[39]], batch_size=100)
    assert (second.created, second.duplicates, second.failed) == (15, 26, 0)
    stored = _stored(rt, pid)
    texts = [r["fields"]["text"].split()[0] for r in stored]
    assert texts == [str(i) for i in range(25)] + [str(i) for i in range(39, 24, -1)]
    assert [r["task"] for r in stored] == sorted(r["task"] for r in stored)


def test_item_sealer_matches_the_per_item_calls_and_never_repeats_a_nonce(rt: Runtime) -> None:
    owner = make_person(rt, "owner@acme.test")
    vault = rt.db.sealer
    assert isinstance(vault, Vault)
    sealer = vault.item_sealer(owner.workspace_id, 7)
    encoded = [orjson.dumps({"text": f"t{i}"}, option=orjson.OPT_SORT_KEYS) for i in range(2500)]
    sealed = [sealer.seal(e) for e in encoded]
    nonces = set()
    for plain, (digest, stored) in zip(encoded, sealed, strict=True):
        assert digest == vault.content_hash(owner.workspace_id, plain)
        assert vault.open_item(owner.workspace_id, 7, digest, stored) == orjson.loads(plain)
        assert sealed_version(stored) == sealed_version(vault.seal_item(owner.workspace_id, 7, digest, plain))
        # version (2 bytes) | nonce (12) | ciphertext | tag
        nonces.add(binascii.a2b_base64(orjson.loads(stored).removeprefix(ITEM_PREFIX))[2:14])
    assert len(nonces) == len(encoded)  # more than one os.urandom read's worth, all distinct
    # Bound to its project like seal_item: another project's associated data does not open it.
    with pytest.raises(Tampered):
        vault.open_item(owner.workspace_id, 8, sealed[0][0], sealed[0][1])


def test_the_plain_rows_loop_prepares_what_the_general_path_does(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_plain_prefix`` (the loop for plain records) and the per-row path give the same batch:
    lines, hashes, stored fields, duplicates and errors, in order; it hands over at the first row
    that is not plain (an object value, an envelope, a missing field, an error row)."""
    owner = make_person(rt, "owner@acme.test")
    with rt.db.session() as s:
        actor = actor_for(s, owner.workspace_id, owner.user_id)
        project = projects.create_project(
            s, actor, projects.ProjectSettings(name="plain", schema=CHOICES_SCHEMA), now=utcnow()
        )
        schema = projects.schemas.get(project)
        target = items._Target(owner.workspace_id, project.id, items.vault_of(s))
    plain = [orjson.dumps({"text": f"t{i % 7}", "n": i % 7, "tags": ["a", i % 3]}) for i in range(30)]
    odd = [
        b'{"text": "nested", "meta": {"k": 1}}',
        b'{"data": {"text": "enveloped"}, "priority": 2}',
        b'{"other": 1}',
        b"[1]",
        b'{"text": "t1", "n": 1, "tags": ["a", 1]}',  # a duplicate of a plain row, after the hand-over
    ]
    for lines in (plain, plain + odd + plain[:3], odd + plain):
        rows = list(JsonlReader().read(io.BytesIO(b"\n".join(lines) + b"\n")))

        def prepared(rows: list[Any] = rows) -> tuple[Any, ...]:
            batch = items._prepare_batch(rows, schema, rt.blobs, target)
            opened = [
                (p.line, p.content_hash, p.priority, p.gold, p.skills,
                 target.vault.open_item(owner.workspace_id, project.id, p.content_hash, p.encoded))
                for p in batch.items
            ]  # fmt: skip
            return batch.rows, opened, batch.duplicates, batch.errors

        fast = prepared()
        with monkeypatch.context() as m:
            m.setattr(items, "_plain_prefix", lambda *_a: items._Plain(0, 0))
            assert prepared() == fast
    # 21 distinct plain rows of 30; the odd duplicate comes first in the last round
    assert (fast[0], len(fast[1]), fast[2], len(fast[3])) == (35, 23, 10, 2)
