"""The text control: free writing with length bounds, compared by sequence similarity."""

from typing import Any

import pytest

from labelhouse.controls import parse_schema
from labelhouse.controls.text import Text, TextConfig
from labelhouse.core.errors import Invalid

CONTROL = Text()


def config(**fields: Any) -> TextConfig:
    return TextConfig.model_validate({"name": "reply", "type": "text"} | fields)


def test_text_is_kept_as_sent() -> None:
    assert CONTROL.validate(config(), "  Hello.\n\n", {}) == "  Hello.\n\n"


@pytest.mark.parametrize(("value", "match"), [("", "0 characters"), ("   \n", "0 characters"), (5, "int")])
def test_empty_or_non_text_answers_are_rejected(value: Any, match: str) -> None:
    with pytest.raises(Invalid, match=match) as caught:
        CONTROL.validate(config(), value, {})
    assert caught.value.field == "reply"


def test_length_bounds_ignore_trailing_whitespace_and_say_the_bound() -> None:
    cfg = config(min_length=3, max_length=5)
    assert CONTROL.validate(cfg, "abcde   ", {}) == "abcde   "
    with pytest.raises(Invalid, match=r"2 characters.*at least 3"):
        CONTROL.validate(cfg, "ab  ", {})
    with pytest.raises(Invalid, match="6 characters long; shorten it to at most 5"):
        CONTROL.validate(cfg, "abcdef", {})
    assert CONTROL.validate(config(min_length=0), "", {}) == ""


def test_similarity() -> None:
    cfg = config()
    assert CONTROL.similarity(cfg, "", "") == 1.0
    assert CONTROL.similarity(cfg, "abc", "xyz") == 0.0
    assert CONTROL.similarity(cfg, "abcd", "abce") == pytest.approx(0.75)


def test_similarity_of_long_texts_is_fast_and_sensible() -> None:
    # Only the first 5,000 characters count, and repetitive text must not take the matcher's
    # slow path (without autojunk this pair takes minutes).
    assert CONTROL.similarity(config(), "a" * 100_000, "ab" * 50_000) < 0.5
    prose = " ".join(f"sentence {i} says something about item {i * 7 % 13}." for i in range(200))
    edited = prose[:3000] + " An inserted clause. " + prose[3000:]
    assert CONTROL.similarity(config(), prose, edited) > 0.9
    assert CONTROL.similarity(config(), "x" * 6000, "x" * 5000 + "y" * 1000) == 1.0


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"min_length": -1}, "schema.controls[0].min_length"),
        ({"min_length": 10, "max_length": 5}, "schema.controls[0].max_length"),
        ({"max_length": "5"}, "schema.controls[0].max_length"),
        ({"placeholder": 3}, "schema.controls[0].placeholder"),
    ],
)
def test_parse_schema_names_the_bad_config_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_schema({"controls": [{"name": "reply", "type": "text"} | extra]})
    assert caught.value.field == field


def test_parse_schema_defaults() -> None:
    cfg = parse_schema({"controls": [{"name": "reply", "type": "text"}]}).controls[0]
    assert (cfg.min_length, cfg.max_length, cfg.placeholder) == (1, 100000, "")  # type: ignore[attr-defined]
