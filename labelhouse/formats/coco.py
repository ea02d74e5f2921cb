"""COCO object-detection export of the ``boxes`` controls (see ``examples/export.coco.json``).

- ``images``: one per task, ``id`` = item id, ``file_name`` = the image field's ``name`` (or the
  field itself when it is a string), ``width``/``height`` when the item says them.
- ``categories``: the labels of the boxes controls in schema order, ids 1..n (a label shared by
  two controls is one category; ``supercategory`` is the first control that lists it).
- ``annotations``: one per drawn object per human annotation (several annotators give several
  overlapping objects: this is raw data, not a consensus). A rectangle gives ``bbox`` [x, y, w, h]
  and ``area`` w*h with an empty ``segmentation``; a polygon gives ``segmentation``
  [[x1, y1, x2, y2, ...]], the ``bbox`` of its points and its shoelace ``area``. Keypoints are
  skipped: COCO keypoints need a skeleton per category, which the schema does not define.
  ``attributes`` = ``{"annotator", "annotation_id"}`` says whose object it is.
- Consensus: when a task has two or more annotations and the exporter computed its consensus (the
  server always does), each consensus object (objects matched across annotators by IoU, kept with
  weighted support >= 1/2, averaged; see docs/quality.md) is one more annotation with
  ``attributes`` = ``{"consensus": true, "n": <annotations>}`` and ``score`` = the control's
  consensus confidence for that task (mean support x mean IoU, in [0, 1]), as in COCO detection
  results, so ``score`` thresholds pick confident consensus boxes. A task with one annotation
  has no separate consensus object: its objects are its consensus.

All boxes controls must be over the same image field (one COCO image per item). The output is
streamed: images are written as records arrive while their annotations are spooled to a temporary
file (on disk past a few MB), which is appended after the images.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, ClassVar

import orjson

from labelhouse.controls.boxes import BoxesConfig, image_size
from labelhouse.controls.schema import Schema
from labelhouse.core.errors import Invalid
from labelhouse.formats.base import ExportRecord
from labelhouse.formats.jsonl import CHUNK_BYTES, chunked
from labelhouse.formats.registry import register_writer

_SPOOL_BYTES = 8 * 1024 * 1024


def shoelace_area(points: list[list[float]]) -> float:
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))
    return abs(twice) / 2


def coco_object(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """``bbox``, ``area`` and ``segmentation`` of one boxes object; None for a keypoint."""
    shape = obj.get("type", "rectangle")
    if shape == "rectangle":
        x, y, w, h = obj["x"], obj["y"], obj["w"], obj["h"]
        return {"bbox": [x, y, w, h], "area": w * h, "segmentation": []}
    if shape == "polygon":
        points = obj["points"]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x, y = min(xs), min(ys)
        return {
            "bbox": [x, y, max(xs) - x, max(ys) - y],
            "area": shoelace_area(points),
            "segmentation": [[c for p in points for c in p]],
        }
    return None


def _image(record: ExportRecord, config: BoxesConfig) -> dict[str, Any]:
    value = record.item.get(config.over)
    if isinstance(value, Mapping):
        file_name = str(value.get("name") or value.get("url") or "")
    else:
        file_name = value if isinstance(value, str) else ""
    image: dict[str, Any] = {"id": record.item_id, "file_name": file_name}
    try:
        size = image_size(config, record.item)
    except Invalid:
        size = None
    if size is not None:
        image["width"], image["height"] = size
    return image


class CocoWriter:
    name: ClassVar[str] = "coco"
    media_type: ClassVar[str] = "application/json"
    extension: ClassVar[str] = ".json"

    def write(self, records: Iterable[ExportRecord], schema: Schema) -> Iterator[bytes]:
        configs = [c for c in schema.by_type("boxes") if isinstance(c, BoxesConfig)]
        if not configs:
            raise Invalid("the COCO export needs a boxes control; this schema has none", field="format")
        fields = sorted({c.over for c in configs})
        if len(fields) > 1:
            raise Invalid(
                f"the COCO export needs every boxes control over one image field, not {fields}; "
                "export JSON Lines instead",
                field="format",
            )
        categories: dict[str, dict[str, Any]] = {}
        for config in configs:
            for label in config.labels:
                categories.setdefault(
                    label, {"id": len(categories) + 1, "name": label, "supercategory": config.name}
                )
        return chunked(self._pieces(records, configs, categories))

    def _pieces(
        self,
        records: Iterable[ExportRecord],
        configs: list[BoxesConfig],
        categories: dict[str, dict[str, Any]],
    ) -> Iterator[bytes]:
        yield b'{"info":{"description":"labelhouse export"},"licenses":[],"categories":'
        yield orjson.dumps(list(categories.values()))
        yield b',\n"images":['
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
            next_id = 1
            for index, record in enumerate(records):
                yield (b"\n" if index == 0 else b",\n") + orjson.dumps(_image(record, configs[0]))
                for annotation in _annotations(record, configs, categories):
                    separator = b"\n" if next_id == 1 else b",\n"
                    spool.write(separator + orjson.dumps({"id": next_id, **annotation}))
                    next_id += 1
            yield b'\n],\n"annotations":['
            spool.seek(0)
            yield from _read_all(spool)
        yield b"\n]}\n"


def _annotations(
    record: ExportRecord, configs: list[BoxesConfig], categories: dict[str, dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """The COCO annotations of one task, without their ids."""
    for human in record.annotations:
        for config in configs:
            for obj in human.answer.get(config.name) or []:
                one = _annotation(record, obj, categories)
                if one is not None:
                    one["attributes"] = {"annotator": human.annotator, "annotation_id": human.id}
                    yield one
    for config in configs:
        agreed = (record.consensus or {}).get(config.name)
        if not agreed or int(agreed.get("n") or 0) < 2:
            continue
        for obj in agreed.get("value") or []:
            one = _annotation(record, obj, categories)
            if one is not None:
                one["score"] = agreed.get("confidence")
                one["attributes"] = {"consensus": True, "n": agreed["n"]}
                yield one


def _annotation(
    record: ExportRecord, obj: dict[str, Any], categories: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """One object as a COCO annotation, or None when it has no COCO geometry or no category."""
    geometry = coco_object(obj)
    if geometry is None or obj.get("label") not in categories:
        return None
    return {
        "image_id": record.item_id,
        "category_id": categories[obj["label"]]["id"],
        **geometry,
        "iscrowd": 0,
    }


def _read_all(spool: IO[bytes]) -> Iterator[bytes]:
    while chunk := spool.read(CHUNK_BYTES):
        yield chunk


register_writer(CocoWriter())
