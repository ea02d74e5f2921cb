"""The example files of labelhouse/formats/examples are each format's round-trip test and its docs.

Exports: a fixed set of records goes through every writer and must equal ``export.*`` byte for
byte. After a deliberate change, regenerate them with ``LABELHOUSE_REGEN_EXAMPLES=1 pytest
tests/formats`` and read the diff. Imports: ``items.*`` must parse to the rows written here.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from labelhouse.controls import Schema, parse_schema
from labelhouse.formats import ExportAnnotation, ExportRecord, ImportRow, get_reader, get_writer, writers

EXAMPLES = Path(__file__).resolve().parents[2] / "labelhouse" / "formats" / "examples"
REGEN = os.environ.get("LABELHOUSE_REGEN_EXAMPLES") == "1"

SCHEMA: dict[str, Any] = {
    "controls": [
        {
            "name": "objects",
            "type": "boxes",
            "over": "image",
            "labels": ["car", "person"],
            "shapes": ["rectangle", "polygon", "keypoint"],
            "required": False,
        },
        {"name": "reply", "type": "text", "over": "prompt", "required": False},
        {"name": "pref", "type": "preference", "over": "responses", "required": False},
        {"name": "rank", "type": "ranking", "over": "candidates", "required": False},
    ]
}

# A small vision-language project: boxes on the picture, a written reply to the prompt, a
# preference between two model responses, a ranking of three candidates.
ITEMS: dict[int, dict[str, Any]] = {
    101: {
        "image": {"name": "street/0001.jpg", "width": 640, "height": 480},
        "prompt": "Describe the picture.",
        "responses": ["A red car on a street.", {"text": "A street with a car and a person.", "model": "m2"}],
        "candidates": ["A car.", "A red car parked by a person.", "Cars."],
    },
    102: {
        "image": {"name": "street/0002.jpg", "width": 640, "height": 480},
        "prompt": "How many people are there?",
        "system": "Answer in one sentence.",
        "responses": ["Two people.", "One person."],
        "candidates": ["One.", "There is one person.", "None."],
    },
    103: {
        "image": "s3://photos/0003.jpg",
        "prompt": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What colour is the car?"},
        ],
        "system": "ignored: the transcript has its own",
        "responses": ["Red.", "It is a red car, parked."],
        "candidates": ["Red.", "Blue.", "Crimson red."],
        "source": "only in a later item: not a CSV column",
    },
    104: {
        "image": {"name": "street/0004.jpg"},
        "prompt": '=HYPERLINK("http://example.com","click me")',
        "responses": ["-1", "@SUM(A1)"],
    },
}

_T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def schema() -> Schema:
    return parse_schema(SCHEMA)


def _annotation(ident: int, who: str, item: int, answer: dict[str, Any], at: datetime) -> ExportAnnotation:
    # Answers are stored normalized by the schema, so the examples are too.
    valid = schema().validate_answer(answer, ITEMS[item])
    return ExportAnnotation(
        id=ident, annotator=who, answer=valid, version=1, created_at=at, lead_time_s=12.5 + ident
    )


def records() -> list[ExportRecord]:
    a = _annotation
    return [
        ExportRecord(
            task_id=1,
            item_id=101,
            item=ITEMS[101],
            annotations=(
                a(
                    1,
                    "ana",
                    101,
                    {
                        "objects": [
                            {"label": "car", "x": 10, "y": 20, "w": 200, "h": 100},
                            {
                                "type": "polygon",
                                "label": "person",
                                "points": [[300, 50], [340, 50], [320, 200]],
                            },
                            {"type": "keypoint", "label": "person", "x": 320, "y": 60},
                        ],
                        "reply": "A red car parked next to a person.",
                        "pref": {"winner": "b", "strength": 2, "reason": "mentions the person"},
                        "rank": [1, 0, 2],
                    },
                    _T0,
                ),
                a(
                    2,
                    "ben",
                    101,
                    {
                        "objects": [{"label": "car", "x": 12, "y": 22, "w": 196, "h": 98}],
                        "pref": {"winner": "tie"},
                    },
                    _T0 + timedelta(minutes=5, microseconds=250000),
                ),
            ),
        ),
        ExportRecord(
            task_id=2,
            item_id=102,
            item=ITEMS[102],
            annotations=(
                a(
                    3,
                    "ana",
                    102,
                    {"reply": "There is one person.", "pref": {"winner": "b"}, "rank": [1, 0, 2]},
                    datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))),
                ),
            ),
        ),
        ExportRecord(
            task_id=3,
            item_id=103,
            item=ITEMS[103],
            annotations=(
                a(
                    4,
                    "cy",
                    103,
                    {"reply": "Red.", "pref": {"winner": "a", "strength": 3}},
                    datetime(2024, 5, 2, 9, 0),  # naive: taken as UTC
                ),
            ),
        ),
        ExportRecord(task_id=4, item_id=104, item=ITEMS[104], annotations=()),
    ]


EXPORTS = {
    "jsonl": "export.jsonl",
    "csv": "export.csv",
    "coco": "export.coco.json",
    "sft": "export.sft.jsonl",
    "dpo": "export.dpo.jsonl",
}


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_writer_output_equals_its_example_file(name: str) -> None:
    written = b"".join(get_writer(name).write(iter(records()), schema()))
    path = EXAMPLES / EXPORTS[name]
    if REGEN:
        path.write_bytes(written)
    assert written == path.read_bytes(), (
        f"regenerate with LABELHOUSE_REGEN_EXAMPLES=1 if {name} changed on purpose"
    )


def test_every_registered_writer_has_an_example_file() -> None:
    assert set(writers()) <= set(EXPORTS), "a new writer needs an example file (add it to EXPORTS)"


def test_items_jsonl_parses_as_documented() -> None:
    with (EXAMPLES / "items.jsonl").open("rb") as stream:
        rows = list(get_reader("jsonl").read(stream))
    assert rows == [
        ImportRow(line=1, data={"text": "The battery lasts all day.", "source": "review-17"}),
        ImportRow(
            line=2,
            data={
                "image": {"name": "street/0001.jpg", "width": 640, "height": 480},
                "prompt": "Describe the picture.",
            },
        ),
        ImportRow(
            line=3,
            data={
                "prompt": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "What colour is the car?"},
                ],
                "responses": ["Red.", {"text": "It is a red car.", "model": "m2"}],
            },
        ),
        # line 4 is blank: skipped, still counted
        ImportRow(
            line=5,
            data={
                "data": {"text": "Gold example: refund request."},
                "priority": 5,
                "gold": {"label": "refund"},
            },
        ),
    ]


def test_items_csv_parses_as_documented() -> None:
    with (EXAMPLES / "items.csv").open("rb") as stream:
        rows = list(get_reader("csv").read(stream))
    assert rows == [
        ImportRow(line=2, data={"text": "The battery lasts all day.", "source": "review-17", "meta": ""}),
        ImportRow(
            line=3,
            data={
                "text": "Too slow, sadly.\nWould not buy again.",
                "source": "review-18",
                "meta": '{"stars": 1}',
            },
        ),
        ImportRow(
            line=5, data={"text": "Price, quality, all good.", "source": "review-19", "meta": "[1, 2]"}
        ),
        ImportRow(line=6, data={"text": "=1+1", "source": "'quoted", "meta": ""}),
    ]
