"""Consensus per control: hand-made cases with known results, ties, one annotator, none, weights."""

from __future__ import annotations

from typing import Any

import pytest

from labelhouse.controls import get_control
from labelhouse.core.errors import Invalid, NotFound
from labelhouse.quality import consensus as consensus_module
from labelhouse.quality.consensus import Consensus, consensus, register_rule, rule_types
from labelhouse.quality.matching import cluster_objects


def cfg(**raw: Any) -> Any:
    raw.setdefault("name", "c")
    return get_control(raw["type"]).config_model.model_validate(raw)


SINGLE = cfg(type="choices", options=["pos", "neg", "neutral"])
MULTI = cfg(type="choices", options=["a", "b", "c", "d"], multiple=True)
SPANS = cfg(type="spans", over="text", labels=["PER", "ORG"])
BOXES = cfg(type="boxes", over="image", labels=["car", "person"], shapes=["rectangle", "polygon", "keypoint"])
RATING = cfg(type="rating", min=1, max=5)
RUBRIC = cfg(type="rating", min=1, max=5, criteria=[{"name": "helpful"}, {"name": "harmless"}])
TEXT = cfg(type="text")
RANKING = cfg(type="ranking", over="responses")
PREFERENCE = cfg(type="preference", over="responses")
ALL = [SINGLE, MULTI, SPANS, BOXES, RATING, TEXT, RANKING, PREFERENCE]


def rect(x: float, y: float, w: float, h: float, label: str = "car") -> dict[str, Any]:
    return {"type": "rectangle", "label": label, "x": x, "y": y, "w": w, "h": h}


def span(start: int, end: int, label: str = "PER") -> dict[str, Any]:
    return {"start": start, "end": end, "label": label}


# --- dispatch -------------------------------------------------------------------------------


def test_every_builtin_control_has_a_rule() -> None:
    assert set(rule_types()) >= {"choices", "spans", "boxes", "rating", "text", "ranking", "preference"}


@pytest.mark.parametrize("config", ALL, ids=lambda c: c.type)
def test_empty_answers(config: Any) -> None:
    assert consensus(config, []) == Consensus(None, 0.0, 0)


def test_zero_weights_are_ignored_but_counted() -> None:
    result = consensus(SINGLE, [("u1", "pos"), ("u2", "neg")], {"u1": 0.0})
    assert (result.value, result.confidence, result.n) == ("neg", 1.0, 2)
    assert consensus(SINGLE, [("u1", "pos")], {"u1": 0.0}) == Consensus(None, 0.0, 1)


def test_bad_weight_and_unknown_type() -> None:
    with pytest.raises(Invalid):
        consensus(SINGLE, [("u1", "pos")], {"u1": -1.0})
    with pytest.raises(Invalid):
        consensus(SINGLE, [("u1", "pos")], {"u1": float("nan")})

    class Other:
        type = "nothing_registered"

    with pytest.raises(NotFound):
        consensus(Other(), [("u1", 1)])


def test_a_new_control_registers_its_rule() -> None:
    class Mine:
        type = "test_only_mine"

    def rule(config: Any, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus:
        return Consensus(max(a for _, a in answers), 0.5, len(answers))

    register_rule("test_only_mine", rule)
    try:
        with pytest.raises(Invalid):
            register_rule("test_only_mine", rule)
        assert consensus(Mine(), [("u", 3), ("v", 7)]).value == 7
    finally:
        consensus_module._RULES.pop("test_only_mine")


# --- choices ----------------------------------------------------------------------------------


def test_single_choice_vote() -> None:
    result = consensus(SINGLE, [("u1", "pos"), ("u2", "pos"), ("u3", "neg")])
    assert result.value == "pos"
    assert result.confidence == pytest.approx(2 / 3)
    assert result.n == 3
    assert result.details["support"] == pytest.approx({"pos": 2 / 3, "neg": 1 / 3})


def test_single_choice_tie_goes_to_first_listed_option_and_weights_break_it() -> None:
    answers = [("u1", "neutral"), ("u2", "neg")]
    assert consensus(SINGLE, answers).value == "neg"
    assert consensus(SINGLE, answers).confidence == 0.5
    weighted = consensus(SINGLE, answers, {"u1": 0.9, "u2": 0.3})
    assert weighted.value == "neutral"
    assert weighted.confidence == pytest.approx(0.75)


def test_weights_overturn_a_majority() -> None:
    answers = [("expert", "neg"), ("n1", "pos"), ("n2", "pos")]
    assert consensus(SINGLE, answers).value == "pos"
    assert consensus(SINGLE, answers, {"expert": 3.0}).value == "neg"


def test_single_annotator() -> None:
    assert consensus(SINGLE, [("u1", "neg")]) == Consensus("neg", 1.0, 1, {"support": {"neg": 1.0}})


def test_multiple_choice_threshold_half() -> None:
    answers = [("u1", ["a", "b"]), ("u2", ["a"]), ("u3", ["a", "c"]), ("u4", ["b"])]
    result = consensus(MULTI, answers)
    # a: 3/4, b: 2/4 (kept, >= half), c: 1/4
    assert result.value == ["a", "b"]
    assert result.confidence == pytest.approx((0.75 + 0.5 + 0.75) / 3)
    assert consensus(MULTI, answers, {"u4": 0.5}).value == ["a"]


def test_multiple_choice_all_empty_and_bounds() -> None:
    assert consensus(MULTI, [("u1", []), ("u2", [])]) == Consensus([], 1.0, 2, {"support": {}})
    bounded = cfg(type="choices", options=["a", "b", "c"], multiple=True, min_choices=1, max_choices=1)
    # nothing reaches half: the best-supported option is taken to meet min_choices
    assert consensus(
        bounded, [("u1", ["b"]), ("u2", ["c"]), ("u3", ["c"]), ("u4", ["a"]), ("u5", ["a"])]
    ).value == ["a"]
    # two options reach half: max_choices keeps the better one
    assert consensus(bounded, [("u1", ["c"]), ("u2", ["c"]), ("u3", ["b"])]).value == ["c"]


# --- spans ------------------------------------------------------------------------------------


def test_spans_kept_by_weighted_half() -> None:
    answers = [
        ("u1", [span(0, 5), span(10, 14, "ORG")]),
        ("u2", [span(0, 5), span(10, 15, "ORG")]),
        ("u3", [span(0, 5)]),
    ]
    result = consensus(SPANS, answers)
    assert result.value == [span(0, 5)]
    assert result.confidence == pytest.approx(1.0)
    heavy = consensus(SPANS, answers, {"u1": 2.0})
    assert heavy.value == [span(0, 5), span(10, 14, "ORG")]
    assert heavy.confidence == pytest.approx((1.0 + 0.5) / 2)


def test_spans_keep_text_and_tie_at_half_is_kept() -> None:
    with_text = {**span(0, 3), "text": "Bob"}
    result = consensus(SPANS, [("u1", [with_text]), ("u2", [])])
    assert result.value == [with_text]
    assert result.confidence == 0.5


def test_spans_none_agreed() -> None:
    assert consensus(SPANS, [("u1", []), ("u2", [])]).confidence == 1.0
    minority = consensus(SPANS, [("u1", [span(0, 2)]), ("u2", []), ("u3", []), ("u4", [])])
    assert minority.value == []
    assert minority.confidence == pytest.approx(0.75)


# --- boxes ------------------------------------------------------------------------------------


def test_boxes_average_matched_rectangles() -> None:
    answers = [
        ("u1", [rect(0, 0, 10, 10), rect(100, 100, 20, 20, "person")]),
        ("u2", [rect(1, 1, 10, 10)]),
        ("u3", [rect(2, 0, 10, 10), rect(300, 300, 5, 5)]),
    ]
    result = consensus(BOXES, answers)
    assert result.n == 3
    assert len(result.value) == 1  # the person and the stray car have support 1/3
    car = result.value[0]
    assert (car["label"], car["x"], car["y"], car["w"], car["h"]) == (
        "car",
        1.0,
        pytest.approx(1 / 3),
        10.0,
        10.0,
    )
    assert 0.7 < result.confidence < 1.0  # support 1 x mean IoU of the members with the mean box


def test_boxes_weights_move_the_average_and_keep_a_minority_box() -> None:
    answers = [("u1", [rect(0, 0, 10, 10)]), ("u2", [rect(2, 0, 10, 10)])]
    result = consensus(BOXES, answers, {"u1": 3.0, "u2": 1.0})
    assert result.value[0]["x"] == pytest.approx(0.5)
    lone = consensus(BOXES, [("u1", [rect(0, 0, 10, 10)]), ("u2", []), ("u3", [])], {"u1": 2.0})
    assert len(lone.value) == 1
    assert lone.confidence == pytest.approx(0.5)


def test_boxes_low_iou_and_other_labels_do_not_match() -> None:
    answers = [
        ("u1", [rect(0, 0, 10, 10)]),
        ("u2", [rect(6, 0, 10, 10)]),
        ("u3", [rect(0, 0, 10, 10, "person")]),
    ]
    result = consensus(BOXES, answers)
    assert result.value == []
    assert result.confidence == pytest.approx(2 / 3)  # each of the three objects was left out by 2/3


def test_boxes_none_drawn_and_single_annotator() -> None:
    assert consensus(BOXES, [("u1", []), ("u2", [])]).value == []
    assert consensus(BOXES, [("u1", []), ("u2", [])]).confidence == 1.0
    one = consensus(BOXES, [("u1", [rect(5, 5, 10, 10)])])
    assert one.value == [rect(5.0, 5.0, 10.0, 10.0)]
    assert one.confidence == 1.0


def test_boxes_polygons_and_keypoints() -> None:
    poly1 = {"type": "polygon", "label": "car", "points": [[0, 0], [10, 0], [10, 10]]}
    poly2 = {"type": "polygon", "label": "car", "points": [[0, 0], [10, 0], [10, 9], [0, 10]]}
    kp1 = {"type": "keypoint", "label": "person", "x": 50.0, "y": 50.0}
    kp2 = {"type": "keypoint", "label": "person", "x": 54.0, "y": 50.0}
    result = consensus(BOXES, [("u1", [poly1, kp1]), ("u2", [poly2, kp2])], {"u2": 2.0})
    by_type = {o["type"]: o for o in result.value}
    assert by_type["polygon"]["points"] == poly2["points"]  # the heavier member's polygon
    assert by_type["keypoint"]["x"] == pytest.approx(52 + 2 / 3)


def test_clusters_hold_at_most_one_object_per_answer() -> None:
    answers = [
        [rect(0, 0, 10, 10), rect(1, 0, 10, 10)],
        [rect(0, 0, 10, 10)],
        [rect(50, 50, 10, 10), rect(0, 1, 10, 10), rect(80, 80, 5, 5)],
    ]
    clusters = cluster_objects(answers)
    for c in clusters:
        owners = [at for at, _ in c.members]
        assert len(owners) == len(set(owners))
    assert sum(len(c.members) for c in clusters) == 6
    assert sorted(len(c.members) for c in clusters) == [1, 1, 1, 3]


# --- rating -----------------------------------------------------------------------------------


def test_rating_median_mean_and_spread() -> None:
    result = consensus(RATING, [("u1", 4), ("u2", 4), ("u3", 5), ("u4", 1)])
    assert result.value == 4
    assert result.details["mean"] == pytest.approx(3.5)
    assert result.details["median"] == 4.0
    assert result.details["mad"] == pytest.approx(0.5)  # deviations 0, 0, 1, 3
    assert result.confidence == pytest.approx(1 - 1.0 / 2)  # their mean, 1, over half the scale


def test_rating_confidence_counts_every_rater_by_weight() -> None:
    # two raters 2 points apart: the heavier one is the median and the MAD is 0, but the
    # confidence is not 1: the other's distance counts by their weight (0.4 x 2 over 2)
    result = consensus(RATING, [("u1", 3), ("u2", 5)], {"u1": 0.6, "u2": 0.4})
    assert result.value == 3 and result.details["mad"] == 0.0
    assert result.confidence == pytest.approx(1 - 0.8 / 2)


def test_rating_even_split_rounds_half_up_and_weights_move_it() -> None:
    split = consensus(RATING, [("u1", 2), ("u2", 3)])
    assert split.details["median"] == 2.5
    assert split.value == 3
    assert consensus(RATING, [("u1", 2), ("u2", 3)], {"u1": 2.0}).value == 2


def test_rating_full_disagreement_and_agreement() -> None:
    assert consensus(RATING, [("u1", 1), ("u2", 5)]).confidence == 0.0
    assert consensus(RATING, [("u1", 3)]).confidence == 1.0


def test_rating_rubric() -> None:
    answers = [
        ("u1", {"helpful": 5, "harmless": 1}),
        ("u2", {"helpful": 4, "harmless": 1}),
        ("u3", {"helpful": 5, "harmless": 2}),
    ]
    result = consensus(RUBRIC, answers)
    assert result.value == {"helpful": 5, "harmless": 1}
    assert result.details["helpful"]["mean"] == pytest.approx(14 / 3)
    # each criterion: one rater 1 point from the median of three: 1 - (1/3) / 2
    assert result.confidence == pytest.approx(1 - (1 / 3) / 2)


# --- text -------------------------------------------------------------------------------------


def test_text_medoid() -> None:
    answers = [("u1", "the cat sat on the mat"), ("u2", "the cat sat on a mat"), ("u3", "dogs bark loudly")]
    result = consensus(TEXT, answers)
    assert result.value in {"the cat sat on the mat", "the cat sat on a mat"}
    assert result.details["annotator"] in {"u1", "u2"}
    assert 0.3 < result.confidence < 0.8
    assert consensus(TEXT, [("u1", "alone")]).confidence == 1.0


def test_text_weights_change_the_medoid() -> None:
    answers = [("u1", "aaaa bbbb"), ("u2", "zzzz yyyy")]
    assert consensus(TEXT, answers).value == "aaaa bbbb"  # a tie goes to the first
    assert consensus(TEXT, answers, {"u2": 2.0}).value == "zzzz yyyy"


# --- ranking ----------------------------------------------------------------------------------


def test_ranking_borda() -> None:
    answers = [("u1", [0, 1, 2]), ("u2", [0, 2, 1]), ("u3", [1, 0, 2])]
    result = consensus(RANKING, answers)
    assert result.value == [0, 1, 2]  # points 5, 3, 1
    # taus with [0, 1, 2]: 1, 1/3, 1/3 -> (tau + 1) / 2: 1, 2/3, 2/3
    assert result.confidence == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert consensus(RANKING, answers, {"u3": 5.0}).value == [1, 0, 2]


def test_ranking_tie_and_reversal() -> None:
    result = consensus(RANKING, [("u1", [0, 1]), ("u2", [1, 0])])
    assert result.value == [0, 1]
    assert result.confidence == 0.5
    with pytest.raises(Invalid):
        consensus(RANKING, [("u1", [0, 1]), ("u2", [0, 1, 2])])


def test_ranking_borda_draw_goes_to_the_head_to_head_winner_not_the_first_shown() -> None:
    # Borda points 4, 1, 4: responses 2 and 0 draw, and 2 beats 0 on two of three rankings. The
    # draw went to the lower index, the response shown first: the consensus then said 0 first
    # and, renaming the responses, changed with the order they were shown in
    answers = [("u1", [2, 0, 1]), ("u2", [2, 0, 1]), ("u3", [0, 1, 2])]
    assert consensus(RANKING, answers).value == [2, 0, 1]
    shown_otherwise = {0: 2, 1: 1, 2: 0}  # the same responses, listed in reverse
    renamed = [(u, [shown_otherwise[i] for i in order]) for u, order in answers]
    assert consensus(RANKING, renamed).value == [0, 2, 1]


# --- preference -------------------------------------------------------------------------------


def test_preference_vote_and_strength() -> None:
    answers = [
        ("u1", {"winner": "a", "strength": 3}),
        ("u2", {"winner": "a", "strength": 2}),
        ("u3", {"winner": "b", "strength": 1}),
    ]
    result = consensus(PREFERENCE, answers)
    assert result.value == {"winner": "a", "strength": 3}  # 2.5 rounds half up
    assert result.confidence == pytest.approx(2 / 3)
    assert consensus(PREFERENCE, answers, {"u3": 3.0}).value == {"winner": "b", "strength": 1}


def test_preference_draw_is_a_tie() -> None:
    result = consensus(
        PREFERENCE, [("u1", {"winner": "a", "strength": 1}), ("u2", {"winner": "b", "strength": 2})]
    )
    assert result.value == {"winner": "tie"}
    assert result.confidence == 0.5
    ties = consensus(
        PREFERENCE,
        [("u1", {"winner": "tie"}), ("u2", {"winner": "tie"}), ("u3", {"winner": "a", "strength": 1})],
    )
    assert ties.value == {"winner": "tie"}
    assert ties.confidence == pytest.approx(2 / 3)


def test_merged_box_coordinates_carry_no_float_noise() -> None:
    from labelhouse.quality.matching import merge

    box = {"type": "rectangle", "label": "car", "x": 10, "y": 10, "w": 10, "h": 10}
    # 0.1 * 10 + 0.2 * 10 over 0.30000000000000004 is 9.999999999999998 in floating point
    assert merge([(box, 0.1), (box, 0.2)]) == {**box, "x": 10.0, "y": 10.0, "w": 10.0, "h": 10.0}
