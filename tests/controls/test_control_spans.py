"""The spans control: labeled character ranges over a text field."""

from typing import Any

import pytest

from labelhouse.controls import parse_schema
from labelhouse.controls.spans import Spans, SpansConfig
from labelhouse.core.errors import Invalid

CONTROL = Spans()
ITEM = {"text": "Ada Lovelace met Babbage in London."}


def config(**fields: Any) -> SpansConfig:
    base = {"name": "ents", "type": "spans", "over": "text", "labels": ["PER", "LOC"]}
    return SpansConfig.model_validate(base | fields)


def invalid_field(value: Any, cfg: SpansConfig | None = None, item: dict[str, Any] = ITEM) -> str | None:
    with pytest.raises(Invalid) as caught:
        CONTROL.validate(cfg or config(), value, item)
    return caught.value.field


def span(start: int, end: int, label: str, **extra: Any) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, **extra}


def test_spans_are_sorted_and_carry_their_text() -> None:
    value = [span(28, 34, "LOC"), span(0, 12, "PER", text="Ada Lovelace"), span(17, 24, "PER")]
    assert CONTROL.validate(config(), value, ITEM) == [
        span(0, 12, "PER", text="Ada Lovelace"),
        span(17, 24, "PER", text="Babbage"),
        span(28, 34, "LOC", text="London"),
    ]
    assert CONTROL.validate(config(), [], ITEM) == []


def test_offsets_count_code_points() -> None:
    item = {"text": "café 🙂 ok"}
    assert CONTROL.validate(config(), [span(5, 6, "PER")], item)[0]["text"] == "🙂"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"start": 0}, "ents"),
        (["x"], "ents[0]"),
        ([span(0, 3, "PER"), {"start": 0, "end": 3}], "ents[1].label"),
        ([span(0, 3, "ORG")], "ents[0].label"),
        ([span(True, 3, "PER")], "ents[0].start"),
        ([span(0, 2.5, "PER")], "ents[0].end"),  # type: ignore[arg-type]
        ([span(-1, 3, "PER")], "ents[0].start"),
        ([span(3, 3, "PER")], "ents[0].end"),
        ([span(30, 99, "PER")], "ents[0].end"),
        ([span(0, 3, "PER", text="Bob")], "ents[0].text"),
        ([span(0, 3, "PER", score=0.9)], "ents[0].score"),
        ([span(17, 24, "PER"), span(0, 3, "PER"), span(17, 24, "PER")], "ents[2]"),
    ],
)
def test_each_kind_of_bad_span_names_its_field(value: Any, field: str) -> None:
    assert invalid_field(value) == field


def test_overlap_is_allowed_unless_the_config_forbids_it() -> None:
    value = [span(0, 12, "PER"), span(4, 12, "LOC"), span(0, 12, "LOC")]
    assert len(CONTROL.validate(config(), value, ITEM)) == 3
    # The span sent later is blamed, whatever the sort order.
    assert invalid_field(value, config(allow_overlap=False)) == "ents[2]"
    assert invalid_field(value[:2], config(allow_overlap=False)) == "ents[1]"
    # Touching spans share no character.
    assert CONTROL.validate(config(allow_overlap=False), [span(0, 3, "PER"), span(3, 12, "PER")], ITEM)


def test_overlap_with_an_earlier_long_span_is_caught() -> None:
    value = [span(10, 12, "LOC"), span(0, 20, "PER")]
    assert invalid_field(value, config(allow_overlap=False)) == "ents[1]"
    value = [span(0, 20, "PER"), span(2, 4, "LOC"), span(10, 12, "LOC")]
    with pytest.raises(Invalid, match="spans 0 and 1 overlap"):
        CONTROL.validate(config(allow_overlap=False), value, ITEM)


@pytest.mark.parametrize("item", [{}, {"text": 5}, {"text": ["a"]}])
def test_the_item_field_must_be_text(item: dict[str, Any]) -> None:
    assert invalid_field([], item=item) == "item.text"


def test_similarity_is_f1_of_exact_matches() -> None:
    cfg = config()
    a = CONTROL.validate(cfg, [span(0, 12, "PER"), span(17, 24, "PER")], ITEM)
    b = CONTROL.validate(cfg, [span(0, 12, "PER"), span(17, 24, "LOC"), span(28, 34, "LOC")], ITEM)
    assert CONTROL.similarity(cfg, a, b) == pytest.approx(2 * 1 / 5)
    assert CONTROL.similarity(cfg, a, a) == 1.0
    assert CONTROL.similarity(cfg, [], []) == 1.0
    assert CONTROL.similarity(cfg, a, []) == 0.0


def test_parse_schema_requires_over_and_distinct_labels() -> None:
    good = {"name": "ents", "type": "spans", "over": "text", "labels": ["PER"]}
    assert parse_schema({"controls": [good]}).validate_answer({"ents": []}, ITEM) == {"ents": []}
    for bad, field in (
        ({k: v for k, v in good.items() if k != "over"}, "schema.controls[0].over"),
        (good | {"labels": []}, "schema.controls[0].labels"),
        (good | {"labels": ["A", "A"]}, "schema.controls[0].labels"),
        (good | {"allow_overlap": 1}, "schema.controls[0].allow_overlap"),
    ):
        with pytest.raises(Invalid) as caught:
            parse_schema({"controls": [bad]})
        assert caught.value.field == field
