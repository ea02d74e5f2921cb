"""The choices control: one option or several, normalized to option order."""

from typing import Any

import pytest

from labelhouse.controls import parse_schema
from labelhouse.controls.choices import Choices, ChoicesConfig
from labelhouse.core.errors import Invalid

CONTROL = Choices()


def config(**fields: Any) -> ChoicesConfig:
    return ChoicesConfig.model_validate(
        {"name": "tag", "type": "choices", "options": ["a", "b", "c"]} | fields
    )


def invalid_field(cfg: ChoicesConfig, value: Any) -> str | None:
    with pytest.raises(Invalid) as caught:
        CONTROL.validate(cfg, value, {})
    return caught.value.field


def test_single_answer_is_one_option() -> None:
    assert CONTROL.validate(config(), "b", {}) == "b"


@pytest.mark.parametrize("value", ["z", ["a"], 1, True])
def test_single_answer_must_be_an_option(value: Any) -> None:
    assert invalid_field(config(), value) == "tag"


def test_multiple_answer_is_normalized_to_option_order() -> None:
    assert CONTROL.validate(config(multiple=True), ["c", "a"], {}) == ["a", "c"]
    assert CONTROL.validate(config(multiple=True), [], {}) == []


@pytest.mark.parametrize(
    ("value", "field"),
    [("a", "tag"), (["a", "z"], "tag[1]"), (["a", 3], "tag[1]"), (["b", "b"], "tag[1]")],
)
def test_multiple_answer_errors_name_the_entry(value: Any, field: str) -> None:
    assert invalid_field(config(multiple=True), value) == field


def test_min_and_max_choices_bound_the_count() -> None:
    cfg = config(multiple=True, min_choices=1, max_choices=2)
    assert CONTROL.validate(cfg, ["b"], {}) == ["b"]
    with pytest.raises(Invalid, match="at least 1"):
        CONTROL.validate(cfg, [], {})
    with pytest.raises(Invalid, match="at most 2"):
        CONTROL.validate(cfg, ["a", "b", "c"], {})


def test_long_option_lists_are_shortened_in_messages() -> None:
    cfg = config(options=[f"o{i}" for i in range(50)])
    with pytest.raises(Invalid, match="and 40 more"):
        CONTROL.validate(cfg, "nope", {})


def test_similarity() -> None:
    assert CONTROL.similarity(config(), "a", "a") == 1.0
    assert CONTROL.similarity(config(), "a", "b") == 0.0
    multi = config(multiple=True)
    assert CONTROL.similarity(multi, ["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)
    assert CONTROL.similarity(multi, [], []) == 1.0
    assert CONTROL.similarity(multi, ["a"], []) == 0.0


def test_parse_schema_accepts_a_choices_control() -> None:
    schema = parse_schema({"controls": [{"name": "tag", "type": "choices", "options": ["x", "y"]}]})
    assert isinstance(schema.controls[0], ChoicesConfig)
    assert schema.validate_answer({"tag": "y"}, {}) == {"tag": "y"}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"options": []}, "schema.controls[0].options"),
        ({"options": ["x", "x"]}, "schema.controls[0].options"),
        ({"options": ["x", ""]}, "schema.controls[0].options.1"),
        ({"options": [f"o{i}" for i in range(501)]}, "schema.controls[0].options"),
        ({"multiple": "yes"}, "schema.controls[0].multiple"),
        ({"min_choices": 1}, "schema.controls[0].min_choices"),
        ({"multiple": True, "max_choices": 3}, "schema.controls[0].max_choices"),
        ({"multiple": True, "min_choices": 2, "max_choices": 1}, "schema.controls[0].max_choices"),
        ({"multiple": True, "max_choices": True}, "schema.controls[0].max_choices"),
        ({"colour": "red"}, "schema.controls[0].colour"),
    ],
)
def test_parse_schema_names_the_bad_config_field(extra: dict[str, Any], field: str) -> None:
    raw = {"name": "tag", "type": "choices", "options": ["x", "y"]} | extra
    with pytest.raises(Invalid) as caught:
        parse_schema({"controls": [raw]})
    assert caught.value.field == field
