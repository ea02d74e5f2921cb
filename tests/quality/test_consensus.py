"""Consensus per control: hand-made cases with known results, ties, one annotator, none, weights."""

from __future__ import annotations

import random
from itertools import permutations
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
EXCLUSIVE = cfg(type="spans", over="text", labels=["PER", "ORG"], allow_overlap=False)
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
    # the two ORG spans overlap by 4/5: one matched span of support 2/3, at equal weight the shorter
    assert result.value == [span(0, 5), span(10, 14, "ORG")]
    assert result.confidence == pytest.approx((1.0 + 2 / 3) / 2 * (1.0 + 0.9) / 2)
    heavy = consensus(SPANS, answers, {"u2": 2.0})
    assert heavy.value == [span(0, 5), span(10, 15, "ORG")]
    assert heavy.confidence == pytest.approx((1.0 + 0.75) / 2 * (1.0 + 0.9) / 2)
    alone = consensus(SPANS, [*answers[:1], ("u2", [span(0, 5)]), answers[2]], {"u1": 0.9})
    assert alone.value == [span(0, 5)]  # ORG: u1 alone, under half the weight


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


def test_spans_are_matched_by_overlap_across_annotators() -> None:
    """Issue 4: spans are matched across annotators by overlap, then voted on. Grouped by exact
    offsets, three annotators who all marked the same name one character apart had no span at
    half the weight, and the consensus was empty."""
    answers = [("u1", [span(0, 5)]), ("u2", [span(0, 6)]), ("u3", [span(1, 6), span(8, 9)])]
    result = consensus(SPANS, answers)
    # one cluster, all three; the span most of its weight chose (a tie here: the one agreeing
    # most with the others, 0-6, overlaps 0-5 and 1-6 by 5/6 each)
    assert result.value == [span(0, 6)]
    assert result.details["support"] == {"0-6 PER": 1.0, "8-9 PER": pytest.approx(1 / 3)}
    # support 1 x the members' mean overlap with 0-6: (5/6 + 1 + 5/6) / 3
    assert result.confidence == pytest.approx((5 / 6 + 1 + 5 / 6) / 3)
    # the weighted mode of the matched offsets, with its text
    named = {**span(0, 5), "text": "Alice"}
    two = consensus(SPANS, [("u1", [named]), ("u2", [named]), ("u3", [span(0, 6)])])
    assert two.value == [named]
    # less than half overlapping, or another label: not the same span
    apart = consensus(SPANS, [("u1", [span(0, 4)]), ("u2", [span(2, 8)]), ("u3", [span(0, 4, "ORG")])])
    assert apart.value == []


@pytest.mark.parametrize("config", [SPANS, EXCLUSIVE], ids=["overlap", "exclusive"])
def test_spans_consensus_does_not_depend_on_answer_order_or_names(config: Any) -> None:
    rng = random.Random(11)
    for _ in range(200):
        answers = []
        for who in range(rng.randint(2, 5)):
            starts = rng.sample(range(0, 12, 2), rng.randint(0, 3))
            answers.append(
                (f"u{who}", [span(s, s + rng.randint(1, 4), rng.choice(["PER", "ORG"])) for s in starts])
            )
        weights = {who: rng.choice([0.5, 1.0, 2.0]) for who, _ in answers}
        expected = consensus(config, answers, weights)
        shuffled = answers[:]
        rng.shuffle(shuffled)
        renamed = {who: f"v{rng.random()}" for who, _ in answers}
        again = consensus(
            config, [(renamed[w], s) for w, s in shuffled], {renamed[w]: x for w, x in weights.items()}
        )
        assert again.value == expected.value, answers
        assert again.confidence == pytest.approx(expected.confidence, abs=1e-9), answers


@pytest.mark.parametrize(
    ("answers", "weights", "expected"),
    [
        # the same words, two labels: each had half the weight, both were kept
        ([("u1", [span(0, 5, "PER")]), ("u2", [span(0, 5, "ORG")])], {}, [span(0, 5, "PER")]),
        ([("u1", [span(0, 5, "PER")]), ("u2", [span(0, 5, "ORG")])], {"u2": 2.0}, [span(0, 5, "ORG")]),
        # boundaries one character apart: both kept, overlapping
        ([("u1", [span(0, 5)]), ("u2", [span(0, 6)])], {}, [span(0, 5)]),
        ([("u1", [span(0, 5)]), ("u2", [span(0, 6)])], {"u2": 1.5}, [span(0, 6)]),
        # the stronger span wins and a span that overlaps nothing kept stays
        (
            [
                ("u1", [span(0, 5), span(8, 9)]),
                ("u2", [span(0, 5), span(3, 7, "ORG"), span(8, 9)]),
                ("u3", [span(0, 5), span(3, 7, "ORG")]),
            ],
            {},
            [span(0, 5), span(8, 9)],
        ),
    ],
)
def test_spans_consensus_respects_a_control_without_overlaps(
    answers: list[tuple[str, Any]], weights: dict[str, float], expected: list[dict[str, Any]]
) -> None:
    """A control with ``allow_overlap: false`` rejects overlapping spans; its consensus must not
    hold any (two annotators who disagree on a label or a boundary gave two, each at half)."""
    for order in permutations(answers):
        result = consensus(EXCLUSIVE, list(order), weights)
        assert result.value == expected
        get_control("spans").validate(EXCLUSIVE, result.value, {"text": "x" * 20})
    # a control that allows overlaps keeps both labels
    both = [("u1", [span(0, 5, "PER")]), ("u2", [span(0, 5, "ORG")])]
    assert consensus(SPANS, both).value == [span(0, 5, "ORG"), span(0, 5, "PER")]


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


def test_boxes_polygon_tie_does_not_depend_on_answer_order() -> None:
    """The heaviest member's polygon stands for a cluster; two equally heavy ones went to the
    first listed."""

    def poly(x0: int, x1: int) -> dict[str, Any]:
        return {"type": "polygon", "label": "car", "points": [[x0, 0], [x1, 0], [x1, 10], [x0, 10]]}

    drawn = {"u1": [poly(0, 10)], "u2": [poly(-1, 10)], "u3": [poly(0, 11)]}
    weights = {"u1": 0.5, "u2": 1.0, "u3": 1.0}
    found = {
        consensus(BOXES, [(w, drawn[w]) for w in order], weights).value[0]["points"][0][0]
        for order in permutations(drawn)
    }
    assert found == {-1}  # u2 and u3 overlap u1 and each other alike: the points that sort first


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


def test_boxes_reference_tie_goes_to_the_answer_that_agrees_most() -> None:
    """Three annotators drew one car each, in a chain: b overlaps a and c (IoU 0.54 each), a and c
    overlap little (0.25). With the first answer as the reference on a tie, the consensus moved
    with the order the answers came in (x 1.5, 3 or 4.5); b, which agrees with both, is the
    reference, so all three are one object whatever the order."""
    drawn = {"a": [rect(0, 0, 10, 10)], "b": [rect(3, 0, 10, 10)], "c": [rect(6, 0, 10, 10)]}
    results = {order: consensus(BOXES, [(who, drawn[who]) for who in order]) for order in permutations("abc")}
    for result in results.values():
        assert result.value == [rect(3.0, 0.0, 10.0, 10.0)]
        assert result.confidence == pytest.approx(results[("a", "b", "c")].confidence)
    assert results[("a", "b", "c")].details["support"] == [1.0]


def test_boxes_consensus_does_not_depend_on_answer_order_or_names() -> None:
    rng = random.Random(7)
    for _ in range(200):
        answers = []
        for who in range(rng.randint(2, 5)):
            objects = [
                rect(
                    rng.choice([0, 3, 6, 40]) + rng.random(),
                    rng.choice([0, 3]),
                    10,
                    10,
                    rng.choice(["car", "person"]),
                )
                for _ in range(rng.randint(0, 3))
            ]
            answers.append((f"u{who}", objects))
        weights = {who: rng.choice([0.5, 1.0, 2.0]) for who, _ in answers}
        expected = consensus(BOXES, answers, weights)
        shuffled = answers[:]
        rng.shuffle(shuffled)
        renamed = {who: f"v{rng.random()}" for who, _ in answers}
        again = consensus(
            BOXES,
            [(renamed[who], objs) for who, objs in shuffled],
            {renamed[w]: x for w, x in weights.items()},
        )
        assert _canonical(again.value) == _canonical(expected.value), answers
        assert again.confidence == pytest.approx(expected.confidence, abs=1e-9), answers


def _canonical(objects: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((o["label"], round(o["x"], 6), round(o["y"], 6), o["w"], o["h"]) for o in objects)


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
    assert consensus(TEXT, answers).value == "aaaa bbbb"  # a tie goes to the text that sorts first
    assert consensus(TEXT, answers, {"u2": 2.0}).value == "zzzz yyyy"


@pytest.mark.parametrize(
    "texts",
    [
        ("hello there", "hello"),  # two answers always tie: the first listed won
        (" c a ac b", "bab"),  # difflib's ratio is 1/3 one way round and 1/6 the other
        ("cab", "bca", "abc"),
    ],
)
def test_text_consensus_does_not_depend_on_answer_order(texts: tuple[str, ...]) -> None:
    answers = [(f"u{i}", t) for i, t in enumerate(texts)]
    found = {order: consensus(TEXT, list(order)) for order in permutations(answers)}
    first = found[tuple(answers)]
    for result in found.values():
        assert (result.value, result.confidence) == (first.value, pytest.approx(first.confidence, abs=1e-12))


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


# Found by shuffling random answers with weights such as reliabilities are: each sits on an exact
# tie at one half (or between two Borda totals) that a plain sum broke by the order of the answers.
ORDER_TIES = [
    (
        SINGLE,
        [
            ("u0", "neg"),
            ("u1", "neutral"),
            ("u2", "neg"),
            ("u3", "neutral"),
            ("u4", "neutral"),
            ("u5", "neg"),
        ],
        {"u0": 1.0, "u1": 0.2, "u2": 1.1, "u3": 1.1, "u4": 1.0, "u5": 0.2},
    ),
    (
        MULTI,
        [
            ("u0", ["c"]),
            ("u1", ["c", "d"]),
            ("u2", ["b", "c", "d"]),
            ("u3", ["b"]),
            ("u4", []),
            ("u5", ["a"]),
        ],
        {"u0": 0.1, "u1": 0.1, "u2": 1.1, "u3": 0.2, "u4": 1.0, "u5": 0.1},
    ),
    (
        RANKING,
        [("u0", [1, 3, 0, 2]), ("u1", [3, 0, 1, 2]), ("u2", [0, 3, 1, 2]), ("u3", [2, 1, 0, 3])],
        {"u0": 0.3, "u1": 1.1, "u2": 0.7, "u3": 0.7},
    ),
    (
        PREFERENCE,
        [
            ("u0", {"winner": "a", "strength": 2}),
            ("u1", {"winner": "a", "strength": 3}),
            ("u2", {"winner": "a", "strength": 3}),
        ],
        {"u0": 0.3, "u1": 0.2, "u2": 0.1},
    ),
]


@pytest.mark.parametrize(("config", "answers", "weights"), ORDER_TIES, ids=lambda x: getattr(x, "type", ""))
def test_exact_ties_do_not_depend_on_the_order_of_the_answers(
    config: Any, answers: list[tuple[str, Any]], weights: dict[str, float]
) -> None:
    values = {repr(consensus(config, list(order), weights).value) for order in permutations(answers)}
    assert len(values) == 1, values


def test_merged_box_coordinates_carry_no_float_noise() -> None:
    from labelhouse.quality.matching import merge

    box = {"type": "rectangle", "label": "car", "x": 10, "y": 10, "w": 10, "h": 10}
    # 0.1 * 10 + 0.2 * 10 over 0.30000000000000004 is 9.999999999999998 in floating point
    assert merge([(box, 0.1), (box, 0.2)]) == {**box, "x": 10.0, "y": 10.0, "w": 10.0, "h": 10.0}


def test_one_to_one_score_is_the_matrix_score() -> None:
    """Matching scores a lone pair without numpy; it must give what the matrix gives."""
    from labelhouse.quality.matching import _score, overlap

    rng = random.Random(5)
    for _ in range(500):
        kind = rng.choice(["rectangle", "polygon", "keypoint"])

        def one(kind: str = kind) -> dict[str, Any]:
            if kind == "polygon":
                return {
                    "type": kind,
                    "label": "car",
                    "points": [[rng.randint(0, 20), rng.randint(0, 20)] for _ in range(3)],
                }
            if kind == "keypoint":
                return {"type": kind, "label": "car", "x": rng.uniform(0, 20), "y": rng.uniform(0, 20)}
            return rect(
                rng.uniform(0, 20),
                rng.uniform(0, 20),
                rng.choice([0, rng.uniform(0, 20)]),
                rng.uniform(0, 20),
            )

        a, b = one(), one()
        assert _score(a, b) == float(overlap([a], [b])[0, 0]), (a, b)
