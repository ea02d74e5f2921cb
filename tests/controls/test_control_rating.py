"""The rating control: one score on a scale, or one per rubric criterion."""

from typing import Any

import pytest

from labelhouse.controls import parse_schema
from labelhouse.controls.rating import Rating, RatingConfig
from labelhouse.core.errors import Invalid

CONTROL = Rating()
RUBRIC = [{"name": "helpful", "description": "answers the question"}, {"name": "honest"}]


def config(**fields: Any) -> RatingConfig:
    return RatingConfig.model_validate({"name": "score", "type": "rating"} | fields)


def invalid_field(cfg: RatingConfig, value: Any) -> str | None:
    with pytest.raises(Invalid) as caught:
        CONTROL.validate(cfg, value, {})
    return caught.value.field


def test_a_plain_rating_is_an_integer_in_range() -> None:
    assert CONTROL.validate(config(), 1, {}) == 1
    assert CONTROL.validate(config(min=0, max=10), 10, {}) == 10


@pytest.mark.parametrize("value", [0, 6, 3.0, 2.5, True, "3", None, {"helpful": 3}])
def test_a_plain_rating_rejects_anything_else(value: Any) -> None:
    assert invalid_field(config(), value) == "score"


def test_a_rubric_rating_scores_every_criterion_in_config_order() -> None:
    cfg = config(criteria=RUBRIC)
    assert list(CONTROL.validate(cfg, {"honest": 5, "helpful": 2}, {}).items()) == [
        ("helpful", 2),
        ("honest", 5),
    ]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (3, "score"),
        ({"helpful": 3}, "score.honest"),
        ({"helpful": 3, "honest": 3, "funny": 1}, "score.funny"),
        ({"helpful": 3, "honest": 9}, "score.honest"),
        ({"helpful": False, "honest": 3}, "score.helpful"),
    ],
)
def test_a_rubric_rating_names_the_bad_criterion(value: Any, field: str) -> None:
    assert invalid_field(config(criteria=RUBRIC), value) == field


def test_similarity_is_one_minus_the_normalized_distance() -> None:
    assert CONTROL.similarity(config(), 3, 3) == 1.0
    assert CONTROL.similarity(config(), 1, 5) == 0.0
    assert CONTROL.similarity(config(), 2, 3) == pytest.approx(0.75)
    cfg = config(criteria=RUBRIC)
    assert CONTROL.similarity(cfg, {"helpful": 1, "honest": 5}, {"helpful": 5, "honest": 5}) == 0.5


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"min": 5, "max": 5}, "schema.controls[0].max"),
        ({"min": 5, "max": 1}, "schema.controls[0].max"),
        ({"max": 4.5}, "schema.controls[0].max"),
        ({"min": False}, "schema.controls[0].min"),
        ({"criteria": [{"name": "a"}, {"name": "a"}]}, "schema.controls[0].criteria"),
        ({"criteria": [{"name": ""}]}, "schema.controls[0].criteria.0.name"),
        ({"criteria": [{"name": "a", "weight": 2}]}, "schema.controls[0].criteria.0.weight"),
    ],
)
def test_parse_schema_names_the_bad_config_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_schema({"controls": [{"name": "score", "type": "rating"} | extra]})
    assert caught.value.field == field


def test_parse_schema_with_criteria_validates_answers() -> None:
    schema = parse_schema({"controls": [{"name": "score", "type": "rating", "criteria": RUBRIC}]})
    assert schema.validate_answer({"score": {"helpful": 4, "honest": 4}}, {}) == {
        "score": {"helpful": 4, "honest": 4}
    }
