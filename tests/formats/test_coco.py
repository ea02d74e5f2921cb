"""COCO detection export of the boxes control."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from labelhouse.controls import parse_schema
from labelhouse.core.errors import Invalid
from labelhouse.formats import ExportAnnotation, ExportRecord, get_writer
from labelhouse.formats.coco import coco_object, shoelace_area
from labelhouse.formats.jsonl import CHUNK_BYTES

AT = datetime(2024, 1, 1, tzinfo=UTC)
BOXES = {"name": "objects", "type": "boxes", "over": "image", "labels": ["car", "person"], "shapes": ["rectangle", "polygon", "keypoint"]}  # fmt: skip


def _export(records: list[ExportRecord], controls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    schema = parse_schema({"controls": controls or [BOXES]})
    loaded: dict[str, Any] = orjson.loads(b"".join(get_writer("coco").write(records, schema)))
    return loaded


def _record(
    task: int, answers: dict[str, list[dict[str, Any]]], item: dict[str, Any] | None = None
) -> ExportRecord:
    annotations = tuple(
        ExportAnnotation(task * 10 + n, who, {"objects": objects}, 1, AT, None)
        for n, (who, objects) in enumerate(answers.items())
    )
    return ExportRecord(
        task, 100 + task, item or {"image": {"name": f"{task}.jpg", "width": 50, "height": 40}}, annotations
    )


def test_shoelace_area() -> None:
    assert shoelace_area([[0, 0], [4, 0], [4, 3], [0, 3]]) == 12
    assert shoelace_area([[0, 0], [0, 3], [4, 3], [4, 0]]) == 12  # either winding
    assert shoelace_area([[0, 0], [4, 0], [0, 3]]) == 6


def test_geometry_of_each_shape() -> None:
    assert coco_object({"type": "rectangle", "label": "car", "x": 1.0, "y": 2.0, "w": 3.0, "h": 4.0}) == {
        "bbox": [1.0, 2.0, 3.0, 4.0],
        "area": 12.0,
        "segmentation": [],
    }
    assert coco_object({"type": "polygon", "label": "car", "points": [[1, 5], [5, 1], [9, 5], [5, 9]]}) == {
        "bbox": [1, 1, 8, 8],
        "area": 32.0,
        "segmentation": [[1, 5, 5, 1, 9, 5, 5, 9]],
    }
    assert coco_object({"type": "keypoint", "label": "car", "x": 1.0, "y": 1.0}) is None


def test_one_coco_annotation_per_object_per_annotator() -> None:
    out = _export(
        [
            _record(
                1,
                {
                    "ana": [
                        {"type": "rectangle", "label": "person", "x": 1, "y": 1, "w": 2, "h": 2},
                        {"type": "keypoint", "label": "car", "x": 1, "y": 1},
                    ],
                    "ben": [{"type": "rectangle", "label": "person", "x": 1, "y": 1, "w": 3, "h": 2}],
                },
            ),
            _record(2, {}, {"image": "plain/string.jpg"}),
        ]
    )
    assert out["categories"] == [
        {"id": 1, "name": "car", "supercategory": "objects"},
        {"id": 2, "name": "person", "supercategory": "objects"},
    ]
    assert out["images"] == [
        {"id": 101, "file_name": "1.jpg", "width": 50, "height": 40},
        {"id": 102, "file_name": "plain/string.jpg"},
    ]
    assert [
        (a["id"], a["image_id"], a["category_id"], a["area"], a["attributes"]) for a in out["annotations"]
    ] == [
        (1, 101, 2, 4.0, {"annotator": "ana", "annotation_id": 10}),
        (2, 101, 2, 6.0, {"annotator": "ben", "annotation_id": 11}),
    ]


def test_a_schema_without_boxes_is_refused_before_writing() -> None:
    schema = parse_schema({"controls": [{"name": "t", "type": "text"}]})
    with pytest.raises(Invalid, match="needs a boxes control") as caught:
        get_writer("coco").write([], schema)
    assert caught.value.field == "format"


def test_boxes_over_two_image_fields_are_refused() -> None:
    other = {**BOXES, "name": "second", "over": "thumbnail"}
    with pytest.raises(Invalid, match="over one image field"):
        get_writer("coco").write([], parse_schema({"controls": [BOXES, other]}))


def test_labels_shared_by_two_controls_are_one_category() -> None:
    other = {"name": "parts", "type": "boxes", "over": "image", "labels": ["wheel", "car"]}
    out = _export([], [BOXES, other])
    assert out == {
        "info": {"description": "labelhouse export"},
        "licenses": [],
        "categories": [
            {"id": 1, "name": "car", "supercategory": "objects"},
            {"id": 2, "name": "person", "supercategory": "objects"},
            {"id": 3, "name": "wheel", "supercategory": "parts"},
        ],
        "images": [],
        "annotations": [],
    }


def test_streams_images_as_records_arrive() -> None:
    pulled: list[int] = []

    def records() -> Iterator[ExportRecord]:
        box = {"type": "rectangle", "label": "car", "x": 1, "y": 1, "w": 2, "h": 2}
        for n in range(3000):
            pulled.append(n)
            yield _record(n, {"ana": [box] * 3})

    chunks = get_writer("coco").write(records(), parse_schema({"controls": [BOXES]}))
    first = next(chunks)
    assert len(first) >= CHUNK_BYTES and len(pulled) < 3000
    document = orjson.loads(first + b"".join(chunks))
    assert len(document["images"]) == 3000 and len(document["annotations"]) == 9000
    assert [a["id"] for a in document["annotations"]] == list(range(1, 9001))


def test_consensus_boxes_carry_a_score_and_single_answers_add_none() -> None:
    from labelhouse.services.exports import consensus_of

    car = {"type": "rectangle", "label": "car", "x": 0.0, "y": 0.0, "w": 10.0, "h": 10.0}
    shifted = {**car, "x": 1.0}
    schema = parse_schema({"controls": [BOXES]})
    two = _record(1, {"ana": [car], "ben": [shifted]})
    one = _record(2, {"ana": [car]})
    records = [
        ExportRecord(r.task_id, r.item_id, r.item, r.annotations, consensus_of(schema, list(r.annotations)))
        for r in (two, one)
    ]
    out = _export(records)
    agreed = [a for a in out["annotations"] if a["attributes"].get("consensus")]
    assert len(out["annotations"]) == 4 and len(agreed) == 1
    (box,) = agreed
    assert box["image_id"] == 101 and box["bbox"] == [0.5, 0.0, 10.0, 10.0]
    # support 1 x mean IoU of the two members with their mean: 9.5 / 10.5 each
    assert box["score"] == pytest.approx(round(9.5 / 10.5, 4)) and box["attributes"] == {
        "consensus": True,
        "n": 2,
    }
    assert all("score" not in a for a in out["annotations"] if a not in agreed)
