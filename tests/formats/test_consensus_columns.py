"""Consensus in JSONL and CSV exports for every built-in control type, with one, two and three
annotations (``services.exports.consensus_of`` feeding the writers, as the server does)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from labelhouse.controls import parse_schema
from labelhouse.formats import ExportAnnotation, ExportRecord, get_writer
from labelhouse.services.exports import consensus_of

AT = datetime(2026, 1, 1, tzinfo=UTC)
SCHEMA = parse_schema(
    {
        "controls": [
            {"name": "one", "type": "choices", "over": "text", "options": ["a", "b", "c"]},
            {"name": "many", "type": "choices", "over": "text", "options": ["a", "b", "c"], "multiple": True},
            {"name": "ents", "type": "spans", "over": "text", "labels": ["PER", "ORG"]},
            {"name": "objs", "type": "boxes", "over": "image", "labels": ["car"]},
            {"name": "score", "type": "rating", "min": 1, "max": 5},
            {
                "name": "rubric",
                "type": "rating",
                "min": 1,
                "max": 5,
                "criteria": [{"name": "h"}, {"name": "s"}],
            },
            {"name": "note", "type": "text"},
            {"name": "rank", "type": "ranking", "over": "responses"},
            {"name": "pref", "type": "preference", "over": "responses"},
            {"name": "unused", "type": "choices", "over": "text", "options": ["x", "y"]},
        ]
    }
)


def car(x: float) -> dict[str, Any]:
    return {"type": "rectangle", "label": "car", "x": x, "y": 0.0, "w": 10.0, "h": 10.0}


ANSWERS = [
    {
        "one": "b",
        "many": ["a", "b"],
        "ents": [{"start": 0, "end": 3, "label": "PER", "text": "Ada"}],
        "objs": [car(0.0)],
        "score": 4,
        "rubric": {"h": 4, "s": 5},
        "note": "hello there",
        "rank": [1, 0, 2],
        "pref": {"winner": "a", "strength": 2},
    },
    {
        "one": "b",
        "many": ["a"],
        "ents": [{"start": 0, "end": 4, "label": "PER", "text": "Ada "}],  # matched by overlap
        "objs": [],  # "no boxes"
        "score": 5,
        "rubric": {"h": 3, "s": 5},
        "note": "hello there",
        "rank": [1, 2, 0],
        "pref": {"winner": "a", "strength": 3},
    },
    {
        "one": "a",
        "many": ["a", "b"],
        "ents": [{"start": 0, "end": 3, "label": "PER", "text": "Ada"}],
        "objs": [car(1.0)],
        "score": 4,
        "rubric": {"h": 4, "s": 4},
        "note": "hi",
        "rank": [1, 0, 2],
        "pref": {"winner": "b", "strength": 1},
    },
]

EXPECTED: dict[int, dict[str, Any]] = {
    1: dict(ANSWERS[0]),  # one annotation is its own consensus
    3: {
        "one": "b",
        "many": ["a", "b"],
        "ents": [{"start": 0, "end": 3, "label": "PER", "text": "Ada"}],
        "objs": [car(0.5)],
        "score": 4,
        "rubric": {"h": 4, "s": 5},
        "note": "hello there",
        "rank": [1, 0, 2],
        "pref": {"winner": "a", "strength": 3},
    },
}


def _record(n: int) -> ExportRecord:
    annotations = tuple(ExportAnnotation(i, f"u{i}", ANSWERS[i], 1, AT, None) for i in range(n))
    return ExportRecord(1, 10, {"text": "Ada works"}, annotations, consensus_of(SCHEMA, list(annotations)))


def _write(fmt: str, record: ExportRecord) -> str:
    return b"".join(get_writer(fmt).write([record], SCHEMA)).decode()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_jsonl_and_csv_carry_every_controls_consensus(n: int) -> None:
    record = _record(n)
    line = orjson.loads(_write("jsonl", record))
    found = line["consensus"]
    answered = [c.name for c in SCHEMA.controls if c.name != "unused"]
    assert list(found) == answered  # a control nobody answered has no entry
    for name in answered:
        entry = found[name]
        assert set(entry) == {"value", "confidence", "n", "method"}, name
        assert entry["n"] == n and entry["method"] == "computed"
        assert 0.0 <= entry["confidence"] <= 1.0
        if n == 1:
            assert entry["confidence"] == 1.0
        if n in EXPECTED:
            assert entry["value"] == EXPECTED[n][name], name

    rows = list(csv.DictReader(io.StringIO(_write("csv", record))))
    assert len(rows) == n
    for row in rows:  # the same on every row of the task
        for name in answered:
            value = found[name]["value"]
            cell = row[f"consensus.{name}"]
            assert (cell if isinstance(value, str) else json.loads(cell)) == value, name
            assert float(row[f"consensus.{name}.confidence"]) == found[name]["confidence"]
            assert row[f"consensus.{name}.n"] == str(n)
            assert row[f"consensus.{name}.method"] == "computed"
        assert [row[f"consensus.unused{suffix}"] for suffix in ("", ".confidence", ".n", ".method")] == [
            ""
        ] * 4
