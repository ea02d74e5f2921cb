"""The ``boxes`` control: rectangles, polygons and keypoints over an image field.

Config::

    {"name": "objects", "type": "boxes", "over": "image", "labels": ["car", "person"],
     "shapes": ["rectangle", "polygon"], "max_objects": 10000}

- ``over`` (required): the item field holding the image.
- ``labels``: distinct, non-empty label names (at least one).
- ``shapes``: which of ``rectangle``, ``polygon``, ``keypoint`` may be drawn (default rectangles).
- ``max_objects``: the most objects one answer may hold.

Answer: a list of objects, each with a ``label``, an optional ``id`` (string, distinct within the
answer) and a ``type`` that defaults to ``rectangle``::

    {"type": "rectangle", "label": "car", "x": 10, "y": 20, "w": 100, "h": 50}   # w, h > 0
    {"type": "polygon", "label": "car", "points": [[0, 0], [10, 0], [10, 10]]}  # 3+ points
    {"type": "keypoint", "label": "person", "x": 5, "y": 5}

Coordinates are pixels from the top-left corner, finite and non-negative. The image size is read
from ``item[over]`` when it is an object with ``width`` and ``height``, else from the item's
top-level ``width``/``height``; when known, every coordinate must lie within
``[0, width] x [0, height]``. A size that is present but not a positive integer is an error in the
item, reported on ``item.<field>``. Normalized: ``type`` always present, coordinates as floats.

Similarity: objects are paired by Hungarian matching within each (type, label) group; a pair
scores the IoU of two rectangles, the IoU of the bounding boxes of two polygons, or for two
keypoints 1 when they are within 5% of the image diagonal (10 px when the size is unknown) and 0
otherwise. The score is the sum over pairs divided by the larger object count; 1 when both answers
are empty. ``similarity`` gets no item, so keypoints use 10 px unless the caller passes ``item=``.

Exports: jsonl, csv, coco.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, StrictInt, field_validator

from labelhouse.controls.base import ControlConfig
from labelhouse.controls.registry import register_control
from labelhouse.core.errors import Invalid

Shape = Literal["rectangle", "polygon", "keypoint"]

_KEYS: dict[str, frozenset[str]] = {
    "rectangle": frozenset({"type", "label", "id", "x", "y", "w", "h"}),
    "polygon": frozenset({"type", "label", "id", "points"}),
    "keypoint": frozenset({"type", "label", "id", "x", "y"}),
}
_KEYPOINT_PX = 10.0
_KEYPOINT_DIAGONAL = 0.05


class BoxesConfig(ControlConfig):
    type: Literal["boxes"]
    over: str
    labels: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    shapes: list[Shape] = Field(default_factory=lambda: list[Shape](["rectangle"]), min_length=1)
    max_objects: StrictInt = Field(default=10000, ge=1)

    @field_validator("labels", "shapes")
    @classmethod
    def _distinct(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            twice = next(x for x in values if values.count(x) > 1)
            raise ValueError(f"{twice!r} is listed twice; list each once")
        return values


def image_size(config: BoxesConfig, item: Mapping[str, Any]) -> tuple[int, int] | None:
    """The (width, height) of the image from the item, or None when the item does not say."""
    source = item.get(config.over)
    where = f"item.{config.over}"
    if not (isinstance(source, Mapping) and "width" in source and "height" in source):
        source, where = item, "item"
    if "width" not in source or "height" not in source:
        return None
    size = []
    for key in ("width", "height"):
        value = source[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise Invalid(
                f"the item's image {key} is {value!r}; it must be a positive whole number of "
                "pixels (fix the item data, or remove the size)",
                field=f"{where}.{key}",
            )
        size.append(value)
    return size[0], size[1]


def _coordinate(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"expected a number of pixels, got {value!r}", field=field)
    if value < 0:
        raise Invalid(f"{value} is negative; coordinates start at 0 (top-left)", field=field)
    return float(value)


def _within(size: tuple[int, int] | None, axis: int, value: float, expr: str, what: str, field: str) -> None:
    """Check a coordinate on ``axis`` (0: x, 1: y) against the image size, when known."""
    if size is None or value <= size[axis]:
        return
    edge, side = (("right", "width"), ("bottom", "height"))[axis]
    raise Invalid(
        f"{what} extends past the image's {edge} edge ({expr}={value:g} > {side} {size[axis]}); "
        "move or shrink it to fit inside the image",
        field=field,
    )


class Boxes:
    type: ClassVar[str] = "boxes"
    config_model: ClassVar[builtins.type[ControlConfig]] = BoxesConfig
    exports: ClassVar[frozenset[str]] = frozenset({"jsonl", "csv", "coco"})

    def validate(self, config: BoxesConfig, value: Any, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        size = image_size(config, item)
        if not isinstance(value, list):
            raise Invalid(
                f"expected a list of objects, got {type(value).__name__}; send [] for none",
                field=config.name,
            )
        if len(value) > config.max_objects:
            raise Invalid(
                f"{len(value)} objects; this control allows at most {config.max_objects}",
                field=config.name,
            )
        out: list[dict[str, Any]] = []
        ids: dict[str, int] = {}
        for index, entry in enumerate(value):
            where = f"{config.name}[{index}]"
            obj = self._object(config, entry, index, where, size)
            if "id" in obj:
                if obj["id"] in ids:
                    raise Invalid(
                        f"id {obj['id']!r} is already used by object {ids[obj['id']]}; ids must be distinct",
                        field=f"{where}.id",
                    )
                ids[obj["id"]] = index
            out.append(obj)
        return out

    def _object(
        self,
        config: BoxesConfig,
        entry: Any,
        index: int,
        where: str,
        size: tuple[int, int] | None,
    ) -> dict[str, Any]:
        if not isinstance(entry, Mapping):
            raise Invalid(f"each object is a JSON object, got {type(entry).__name__}", field=where)
        shape = entry.get("type", "rectangle")
        if shape not in config.shapes:
            raise Invalid(
                f"shape {shape!r} is not allowed here; use one of {', '.join(config.shapes)}",
                field=f"{where}.type",
            )
        extra = sorted(set(entry) - _KEYS[shape])
        if extra:
            raise Invalid(
                f"unknown key {extra[0]!r} for a {shape}; it has {', '.join(sorted(_KEYS[shape]))}",
                field=f"{where}.{extra[0]}",
            )
        label = entry.get("label")
        if label not in config.labels:
            raise Invalid(
                f"label {label!r} is not one of {', '.join(map(repr, config.labels))}",
                field=f"{where}.label",
            )
        obj: dict[str, Any] = {"type": shape, "label": label}
        if "id" in entry:
            if not isinstance(entry["id"], str) or not entry["id"]:
                raise Invalid(f"id must be a non-empty string, got {entry['id']!r}", field=f"{where}.id")
            obj["id"] = entry["id"]
        what = f"{shape} {index}"
        if shape == "polygon":
            obj["points"] = self._points(entry.get("points"), f"{where}.points", what, size)
            return obj
        for key in ("x", "y") if shape == "keypoint" else ("x", "y", "w", "h"):
            obj[key] = _coordinate(entry.get(key), f"{where}.{key}")
        _within(size, 0, obj["x"], "x", what, f"{where}.x")
        _within(size, 1, obj["y"], "y", what, f"{where}.y")
        if shape == "rectangle":
            for key in ("w", "h"):
                if obj[key] == 0:
                    raise Invalid(
                        f"{key} is 0; a rectangle needs a positive width and height",
                        field=f"{where}.{key}",
                    )
            # Blame the size rather than the corner: the corner is inside the image.
            _within(size, 0, obj["x"] + obj["w"], "x+w", what, f"{where}.w")
            _within(size, 1, obj["y"] + obj["h"], "y+h", what, f"{where}.h")
        return obj

    def _points(self, points: Any, where: str, what: str, size: tuple[int, int] | None) -> list[list[float]]:
        if not isinstance(points, list) or len(points) < 3:
            raise Invalid("a polygon needs a list of at least 3 [x, y] points", field=where)
        out = []
        for index, point in enumerate(points):
            at = f"{where}[{index}]"
            if not isinstance(point, list | tuple) or len(point) != 2:
                raise Invalid(f"each point is [x, y], got {point!r}", field=at)
            x, y = _coordinate(point[0], at), _coordinate(point[1], at)
            _within(size, 0, x, "x", f"{what} point {index}", at)
            _within(size, 1, y, "y", f"{what} point {index}", at)
            out.append([x, y])
        return out

    def similarity(self, config: BoxesConfig, a: Any, b: Any, item: Mapping[str, Any] | None = None) -> float:
        if not a and not b:
            return 1.0
        size = image_size(config, item) if item is not None else None
        tolerance = _KEYPOINT_DIAGONAL * math.hypot(*size) if size else _KEYPOINT_PX
        groups: dict[tuple[str, str], tuple[list[Any], list[Any]]] = {}
        for side, objects in enumerate((a, b)):
            for obj in objects:
                groups.setdefault((obj["type"], obj["label"]), ([], []))[side].append(obj)
        # Pairs across groups score 0, so matching each group alone gives the same optimum
        # with far smaller matrices.
        total = 0.0
        for (shape, _), (left, right) in groups.items():
            if not left or not right:
                continue
            if shape == "keypoint":
                scores = _keypoint_scores(left, right, tolerance)
            else:
                scores = iou_matrix(_boxes(left), _boxes(right))
            # scipy is imported here: loading it costs ~30 MB, and only agreement needs it.
            from scipy.optimize import linear_sum_assignment

            rows, cols = linear_sum_assignment(scores, maximize=True)
            total += float(scores[rows, cols].sum())
        return total / max(len(a), len(b))


def _boxes(objects: list[Mapping[str, Any]]) -> NDArray[np.float64]:
    """Rows of (x0, y0, x1, y1): the rectangle itself, or a polygon's bounding box."""
    rows = []
    for obj in objects:
        if obj["type"] == "polygon":
            xs = [p[0] for p in obj["points"]]
            ys = [p[1] for p in obj["points"]]
            rows.append((min(xs), min(ys), max(xs), max(ys)))
        else:
            rows.append((obj["x"], obj["y"], obj["x"] + obj["w"], obj["y"] + obj["h"]))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def iou_matrix(left: NDArray[np.float64], right: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pairwise intersection over union of two sets of (x0, y0, x1, y1) boxes."""
    lo = np.maximum(left[:, None, :2], right[None, :, :2])
    hi = np.minimum(left[:, None, 2:], right[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    area_l = np.prod(left[:, 2:] - left[:, :2], axis=1)
    area_r = np.prod(right[:, 2:] - right[:, :2], axis=1)
    union = area_l[:, None] + area_r[None, :] - inter
    # A flat polygon has a zero-area bounding box; it overlaps nothing.
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _keypoint_scores(
    left: list[Mapping[str, Any]], right: list[Mapping[str, Any]], tolerance: float
) -> NDArray[np.float64]:
    lp = np.asarray([(o["x"], o["y"]) for o in left], dtype=np.float64)
    rp = np.asarray([(o["x"], o["y"]) for o in right], dtype=np.float64)
    distance = np.linalg.norm(lp[:, None, :] - rp[None, :, :], axis=2)
    return (distance <= tolerance).astype(np.float64)


register_control(Boxes())
