"""The boxes control: rectangles, polygons and keypoints inside the image, matched by IoU."""

from typing import Any

import pytest

from labelhouse.controls import parse_schema
from labelhouse.controls.boxes import Boxes, BoxesConfig, image_size
from labelhouse.core.errors import Invalid

CONTROL = Boxes()
ITEM = {"image": {"url": "blob:1", "width": 640, "height": 480}}
ALL_SHAPES = ["rectangle", "polygon", "keypoint"]


def config(**fields: Any) -> BoxesConfig:
    base = {"name": "objs", "type": "boxes", "over": "image", "labels": ["car", "person"]}
    return BoxesConfig.model_validate(base | fields)


def rect(x: float, y: float, w: float, h: float, label: str = "car", **extra: Any) -> dict[str, Any]:
    return {"label": label, "x": x, "y": y, "w": w, "h": h, **extra}


def invalid(value: Any, cfg: BoxesConfig | None = None, item: dict[str, Any] = ITEM) -> Invalid:
    with pytest.raises(Invalid) as caught:
        CONTROL.validate(cfg or config(shapes=ALL_SHAPES), value, item)
    return caught.value


def test_objects_are_normalized_with_type_and_float_coordinates() -> None:
    value = [
        rect(10, 20, 100, 50, id="c1"),
        {"type": "polygon", "label": "person", "points": [[0, 0], [640, 0], [640, 480]]},
        {"type": "keypoint", "label": "person", "x": 640, "y": 480},
    ]
    assert CONTROL.validate(config(shapes=ALL_SHAPES), value, ITEM) == [
        {"type": "rectangle", "label": "car", "id": "c1", "x": 10.0, "y": 20.0, "w": 100.0, "h": 50.0},
        {"type": "polygon", "label": "person", "points": [[0.0, 0.0], [640.0, 0.0], [640.0, 480.0]]},
        {"type": "keypoint", "label": "person", "x": 640.0, "y": 480.0},
    ]


def test_a_box_past_the_right_edge_blames_its_width() -> None:
    error = invalid([rect(0, 0, 1, 1), rect(0, 0, 1, 1), rect(600, 10, 100, 10)])
    assert error.field == "objs[2].w"
    assert "right edge (x+w=700 > width 640)" in error.message


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"label": "car"}, "objs"),
        (["box"], "objs[0]"),
        ([rect(0, 0, 1, 1, label="bus")], "objs[0].label"),
        ([rect(0, 0, 1, 1, width=3)], "objs[0].width"),
        ([{**rect(0, 0, 1, 1), "type": "circle"}], "objs[0].type"),
        ([rect(True, 0, 1, 1)], "objs[0].x"),
        ([rect("1", 0, 1, 1)], "objs[0].x"),  # type: ignore[arg-type]
        ([rect(float("nan"), 0, 1, 1)], "objs[0].x"),
        ([rect(0, -1, 1, 1)], "objs[0].y"),
        ([rect(0, 0, 0, 1)], "objs[0].w"),
        ([rect(0, 0, 1, -2)], "objs[0].h"),
        ([rect(641, 0, 1, 1)], "objs[0].x"),
        ([rect(0, 470, 1, 20)], "objs[0].h"),
        ([rect(0, 0, 1, 1, id=7)], "objs[0].id"),
        ([rect(0, 0, 1, 1, id="a"), rect(0, 0, 1, 1, id="a")], "objs[1].id"),
        ([{"type": "polygon", "label": "car", "points": [[0, 0], [1, 1]]}], "objs[0].points"),
        ([{"type": "polygon", "label": "car", "points": [[0, 0], [1, 1], [2]]}], "objs[0].points[2]"),
        ([{"type": "polygon", "label": "car", "points": [[0, 0], [1, 1], [2, 481]]}], "objs[0].points[2]"),
        ([{"type": "polygon", "label": "car", "points": [[0, 0], [1, 1], [2, 2]], "x": 1}], "objs[0].x"),
        ([{"type": "keypoint", "label": "car", "x": 1}], "objs[0].y"),
        ([{"type": "keypoint", "label": "car", "x": 1, "y": 1, "w": 2}], "objs[0].w"),
    ],
)
def test_each_kind_of_bad_object_names_its_field(value: Any, field: str) -> None:
    assert invalid(value).field == field


def test_shapes_and_object_count_follow_the_config() -> None:
    keypoint = {"type": "keypoint", "label": "car", "x": 1, "y": 1}
    assert invalid([keypoint], config()).field == "objs[0].type"
    assert invalid([rect(0, 0, 1, 1)] * 3, config(max_objects=2)).field == "objs"


def test_image_size_comes_from_the_field_or_the_item() -> None:
    cfg = config()
    assert image_size(cfg, ITEM) == (640, 480)
    assert image_size(cfg, {"image": "blob:1", "width": 10, "height": 20}) == (10, 20)
    assert image_size(cfg, {"image": "blob:1"}) is None
    # Unknown size: only non-negativity is checked.
    assert CONTROL.validate(cfg, [rect(5000, 5000, 10, 10)], {"image": "blob:1"})
    assert invalid([rect(0, 0, 11, 1)], cfg, {"image": "x", "width": 10, "height": 20}).field == "objs[0].w"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"image": {"width": 0, "height": 10}}, "item.image.width"),
        ({"image": {"width": 10, "height": True}}, "item.image.height"),
        ({"image": "x", "width": "640", "height": 480}, "item.width"),
    ],
)
def test_a_malformed_image_size_is_an_item_error(item: dict[str, Any], field: str) -> None:
    assert invalid([], config(), item).field == field


def test_similarity_matches_same_label_objects_by_iou() -> None:
    cfg = config(shapes=ALL_SHAPES)
    a = CONTROL.validate(cfg, [rect(0, 0, 10, 10), rect(100, 100, 10, 10, label="person")], ITEM)
    # Same boxes in the other order: the matching pairs them up anyway.
    assert CONTROL.similarity(cfg, a, a[::-1]) == 1.0
    shifted = CONTROL.validate(cfg, [rect(5, 0, 10, 10)], ITEM)  # IoU 50/150 with a[0]
    assert CONTROL.similarity(cfg, a, shifted) == pytest.approx((1 / 3) / 2)
    relabeled = CONTROL.validate(cfg, [rect(0, 0, 10, 10, label="person")], ITEM)
    assert CONTROL.similarity(cfg, a[:1], relabeled) == 0.0
    assert CONTROL.similarity(cfg, [], []) == 1.0
    assert CONTROL.similarity(cfg, a, []) == 0.0


def test_matching_is_optimal_not_greedy() -> None:
    cfg = config()
    a = CONTROL.validate(cfg, [rect(10, 0, 10, 10), rect(13, 0, 10, 10)], ITEM)
    b = CONTROL.validate(cfg, [rect(11, 0, 10, 10), rect(8, 0, 10, 10)], ITEM)
    # Greedy takes the best pair first, a[0]-b[0] (IoU 9/11), leaving a[1]-b[1] (5/15): 1.15 in
    # all. Pairing a[0]-b[1] (8/12) with a[1]-b[0] (8/12) gives more: 1.33.
    assert CONTROL.similarity(cfg, a, b) == pytest.approx((8 / 12 + 8 / 12) / 2)


def test_polygons_compare_by_bounding_box_and_keypoints_by_distance() -> None:
    cfg = config(shapes=ALL_SHAPES)
    poly = [{"type": "polygon", "label": "car", "points": [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]}]
    square = [
        {"type": "polygon", "label": "car", "points": [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]}
    ]
    assert CONTROL.similarity(cfg, poly, square) == 1.0
    # A rectangle and a polygon are different kinds of object.
    assert (
        CONTROL.similarity(
            cfg, poly, [{"type": "rectangle", "label": "car", "x": 0.0, "y": 0.0, "w": 10.0, "h": 10.0}]
        )
        == 0.0
    )

    def point(x: float) -> list[dict[str, Any]]:
        return [{"type": "keypoint", "label": "car", "x": x, "y": 0.0}]

    assert CONTROL.similarity(cfg, point(0), point(10)) == 1.0
    assert CONTROL.similarity(cfg, point(0), point(10.5)) == 0.0
    # With the image size known the tolerance is 5% of the diagonal (800 px here: 40 px).
    assert CONTROL.similarity(cfg, point(0), point(39), item=ITEM) == 1.0
    assert CONTROL.similarity(cfg, point(0), point(41), item=ITEM) == 0.0


def test_parse_schema_checks_the_boxes_config() -> None:
    good = {"name": "objs", "type": "boxes", "over": "image", "labels": ["car"]}
    schema = parse_schema({"controls": [good]})
    assert schema.controls[0].shapes == ["rectangle"]  # type: ignore[attr-defined]
    for bad, field in (
        (good | {"shapes": ["circle"]}, "schema.controls[0].shapes.0"),
        (good | {"shapes": []}, "schema.controls[0].shapes"),
        (good | {"shapes": ["polygon", "polygon"]}, "schema.controls[0].shapes"),
        (good | {"max_objects": 0}, "schema.controls[0].max_objects"),
        (good | {"max_objects": 1.5}, "schema.controls[0].max_objects"),
        (good | {"labels": ["car", "car"]}, "schema.controls[0].labels"),
    ):
        with pytest.raises(Invalid) as caught:
            parse_schema({"controls": [bad]})
        assert caught.value.field == field
