"""The preference control: A vs B, with strength and an optional reason."""

from typing import Any

import pytest

from labelhouse.controls import parse_schema
from labelhouse.controls.preference import Preference, PreferenceConfig
from labelhouse.core.errors import Invalid

CONTROL = Preference()
ITEM = {"prompt": "Say hi.", "responses": ["hi", "hello there"]}


def config(**fields: Any) -> PreferenceConfig:
    return PreferenceConfig.model_validate(
        {"name": "pref", "type": "preference", "over": "responses"} | fields
    )


def invalid(value: Any, cfg: PreferenceConfig | None = None, item: dict[str, Any] = ITEM) -> Invalid:
    with pytest.raises(Invalid) as caught:
        CONTROL.validate(cfg or config(), value, item)
    return caught.value


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ({"winner": "a"}, {"winner": "a", "strength": 1}),
        (
            {"winner": "b", "strength": 3, "reason": "warmer"},
            {"winner": "b", "strength": 3, "reason": "warmer"},
        ),
        ({"winner": "b", "strength": None}, {"winner": "b", "strength": 1}),
        # A tie has no strength, whatever the widget left behind.
        ({"winner": "tie", "strength": 99}, {"winner": "tie"}),
        ({"winner": "tie", "reason": ""}, {"winner": "tie", "reason": ""}),
    ],
)
def test_answers_are_normalized(value: dict[str, Any], normalized: dict[str, Any]) -> None:
    assert CONTROL.validate(config(), value, ITEM) == normalized


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("a", "pref"),
        ({"winner": "A"}, "pref.winner"),
        ({}, "pref.winner"),
        ({"winner": "a", "strength": 4}, "pref.strength"),
        ({"winner": "a", "strength": 0}, "pref.strength"),
        ({"winner": "a", "strength": True}, "pref.strength"),
        ({"winner": "a", "strength": 2.0}, "pref.strength"),
        ({"winner": "a", "reason": 5}, "pref.reason"),
        ({"winner": "a", "reason": "x" * 10001}, "pref.reason"),
        ({"winner": "a", "confidence": 1}, "pref.confidence"),
    ],
)
def test_each_kind_of_bad_answer_names_its_field(value: Any, field: str) -> None:
    assert invalid(value).field == field


def test_config_switches_ties_and_reasons() -> None:
    error = invalid({"winner": "tie"}, config(allow_tie=False))
    assert error.field == "pref.winner"
    assert "does not allow ties" in error.message
    strict = config(require_reason=True)
    assert invalid({"winner": "a"}, strict).field == "pref.reason"
    assert invalid({"winner": "a", "reason": "  "}, strict).field == "pref.reason"
    assert CONTROL.validate(strict, {"winner": "a", "reason": "clearer"}, ITEM)["reason"] == "clearer"
    assert (
        CONTROL.validate(config(strength_scale=10), {"winner": "a", "strength": 10}, ITEM)["strength"] == 10
    )


@pytest.mark.parametrize(
    "item", [{}, {"responses": "hi"}, {"responses": ["hi"]}, {"responses": ["a", "b", "c"]}]
)
def test_the_item_must_hold_exactly_two_responses(item: dict[str, Any]) -> None:
    assert invalid({"winner": "a"}, item=item).field == "item.responses"


def test_similarity() -> None:
    cfg = config()
    a, b, tie = {"winner": "a", "strength": 3}, {"winner": "b", "strength": 1}, {"winner": "tie"}
    assert CONTROL.similarity(cfg, a, {"winner": "a", "strength": 1}) == 1.0
    assert CONTROL.similarity(cfg, tie, tie) == 1.0
    assert CONTROL.similarity(cfg, a, tie) == 0.5
    assert CONTROL.similarity(cfg, tie, b) == 0.5
    assert CONTROL.similarity(cfg, a, b) == 0.0


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"strength_scale": 0}, "schema.controls[0].strength_scale"),
        ({"strength_scale": 11}, "schema.controls[0].strength_scale"),
        ({"allow_tie": "no"}, "schema.controls[0].allow_tie"),
        ({"require_reason": 1}, "schema.controls[0].require_reason"),
        ({"over": None}, "schema.controls[0].over"),
    ],
)
def test_parse_schema_names_the_bad_config_field(extra: dict[str, Any], field: str) -> None:
    raw = {"name": "pref", "type": "preference", "over": "responses"} | extra
    with pytest.raises(Invalid) as caught:
        parse_schema({"controls": [raw]})
    assert caught.value.field == field


def test_parse_schema_and_validate_an_answer() -> None:
    schema = parse_schema({"controls": [{"name": "pref", "type": "preference", "over": "responses"}]})
    assert schema.validate_answer({"pref": {"winner": "b"}}, ITEM) == {"pref": {"winner": "b", "strength": 1}}
