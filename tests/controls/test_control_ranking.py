"""The ranking control: a best-first permutation of an item's responses."""

import re
from typing import Any

import pytest

from labelhouse.controls import parse_schema
from labelhouse.controls.ranking import Ranking, RankingConfig
from labelhouse.core.errors import Invalid

CONTROL = Ranking()
ITEM = {"prompt": "Name a colour.", "responses": ["red", {"text": "blue"}, "seven"]}


def config(**fields: Any) -> RankingConfig:
    return RankingConfig.model_validate({"name": "rank", "type": "ranking", "over": "responses"} | fields)


def invalid(value: Any, item: dict[str, Any] = ITEM) -> Invalid:
    with pytest.raises(Invalid) as caught:
        CONTROL.validate(config(), value, item)
    return caught.value


def test_a_permutation_is_accepted() -> None:
    assert CONTROL.validate(config(), [1, 0, 2], ITEM) == [1, 0, 2]


@pytest.mark.parametrize(
    ("value", "field", "match"),
    [
        ("1,0,2", "rank", "expected a list"),
        ([1, 0], "rank", "response 2 is not ranked"),
        ([1, 0, 1], "rank[2]", r"response 1 is ranked twice \(positions 0 and 2\)"),
        ([1, 0, 3], "rank[2]", "3 is not a response index"),
        ([1, 0, -1], "rank[2]", "-1 is not a response index"),
        ([True, 0, 2], "rank[0]", "not a response index"),
        ([1.0, 0, 2], "rank[0]", "not a response index"),
        ([0, 1, 2, 0], "rank[3]", "ranked twice"),
    ],
)
def test_errors_say_which_index_is_wrong(value: Any, field: str, match: str) -> None:
    error = invalid(value)
    assert error.field == field
    assert re.search(match, error.message), error.message


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({}, "item.responses"),
        ({"responses": "red"}, "item.responses"),
        ({"responses": ["only one"]}, "item.responses"),
        ({"responses": ["a", 3]}, "item.responses[1]"),
    ],
)
def test_the_item_must_hold_two_or_more_responses(item: dict[str, Any], field: str) -> None:
    assert invalid([0, 1], item).field == field


def test_similarity_is_rescaled_kendall_tau() -> None:
    cfg = config()
    assert CONTROL.similarity(cfg, [0, 1, 2], [0, 1, 2]) == 1.0
    assert CONTROL.similarity(cfg, [0, 1, 2], [2, 1, 0]) == 0.0
    # One discordant pair out of three: tau = 1/3.
    assert CONTROL.similarity(cfg, [0, 1, 2], [1, 0, 2]) == pytest.approx(2 / 3)
    # Same relative order regardless of which indices: [2, 0, 1] vs [2, 1, 0] swap one pair.
    assert CONTROL.similarity(cfg, [2, 0, 1], [2, 1, 0]) == pytest.approx(2 / 3)
    assert CONTROL.similarity(cfg, [0, 1], [0, 1]) == 1.0
    assert CONTROL.similarity(cfg, [0, 1], [1, 0]) == 0.0


def test_similarity_equals_scipy_kendall_tau_on_random_orders() -> None:
    import random

    from scipy.stats import kendalltau

    rng = random.Random(7)
    for k in (3, 4, 6, 9):
        for _ in range(40):
            a, b = rng.sample(range(k), k), rng.sample(range(k), k)
            position_b = {index: position for position, index in enumerate(b)}
            tau = kendalltau(range(k), [position_b[i] for i in a]).statistic
            assert CONTROL.similarity(config(), a, b) == pytest.approx((tau + 1) / 2, abs=1e-12)


def test_similarity_refuses_rankings_of_different_items() -> None:
    with pytest.raises(ValueError):
        CONTROL.similarity(config(), [0, 1], [0, 1, 2])


def test_parse_schema() -> None:
    raw = {"name": "rank", "type": "ranking", "over": "responses"}
    schema = parse_schema({"controls": [raw]})
    assert schema.controls[0].prompt == "prompt"  # type: ignore[attr-defined]
    assert schema.validate_answer({"rank": [2, 1, 0]}, ITEM) == {"rank": [2, 1, 0]}
    for bad, field in (
        ({"name": "rank", "type": "ranking"}, "schema.controls[0].over"),
        (raw | {"prompt": None}, "schema.controls[0].prompt"),
        (raw | {"ties": True}, "schema.controls[0].ties"),
    ):
        with pytest.raises(Invalid) as caught:
            parse_schema({"controls": [bad]})
        assert caught.value.field == field
