"""The quality policy's pure decisions: parsing, the one-coin posterior, routing, pausing and
adaptive overlap, on hand-checked cases."""

from __future__ import annotations

import math
from typing import Any

import pytest

from labelhouse.core.errors import Invalid
from labelhouse.quality.policy import (
    DEFAULT_POLICY,
    QualityPolicy,
    choice_posterior,
    failed_gold,
    pause_reason,
    review_route,
    wants_more_labels,
)
from labelhouse.quality.task import gold_correct, task_consensus


def test_parse_fills_defaults_and_names_the_bad_field() -> None:
    assert QualityPolicy.parse(None) is DEFAULT_POLICY
    p = QualityPolicy.parse({"target_confidence": 0.9, "min_labels": 2, "max_labels": 5})
    assert p.adaptive and (p.min_labels, p.max_labels, p.review_below) == (2, 5, 0.8)
    for bad, field in (
        ({"nope": 1}, "quality.nope"),
        ({"review_below": 1.5}, "quality.review_below"),
        ({"min_labels": 3, "max_labels": 2}, "quality.max_labels"),
        ({"budget_labels": -1}, "quality.budget_labels"),
        ({"pause_min_gold": True}, "quality.pause_min_gold"),
        ({"assumed_accuracy": 1}, "quality.assumed_accuracy"),
        ({"min_labels": 0}, "quality.min_labels"),
        ({"pause_min_gold": 0}, "quality.pause_min_gold"),
    ):
        with pytest.raises(Invalid) as err:
            QualityPolicy.parse(bad)
        assert err.value.field == field
    with pytest.raises(Invalid, match=r"pause_min_gold is a whole number >= 1"):
        QualityPolicy.parse({"pause_min_gold": -3})  # not ">= 0": 0 is refused too


def test_null_is_refused_where_a_setting_has_no_off_state() -> None:
    # null switches off what has an off state (pause_below, target_confidence, budget_labels,
    # label_cost); elsewhere it crashed the parse (a 500) or, for review_below and gold_pass,
    # was stored and crashed the review queue later
    for name in (
        "review_below",
        "gold_pass",
        "assumed_accuracy",
        "pause_min_gold",
        "min_labels",
        "max_labels",
    ):
        with pytest.raises(Invalid) as err:
            QualityPolicy.parse({name: None})
        assert err.value.field == f"quality.{name}"
        assert "null" in err.value.message and str(getattr(DEFAULT_POLICY, name)) in err.value.message
    for name in ("pause_below", "target_confidence", "budget_labels", "label_cost"):
        assert getattr(QualityPolicy.parse({name: None}), name) is None


def test_choice_posterior_by_hand() -> None:
    assert choice_posterior([], ["a", "b"], 0.7) == (None, 0.0)
    assert choice_posterior(["a"], ["a", "b"], 0.7) == ("a", pytest.approx(0.7))
    # two agreeing: .49 / (.49 + .09)
    assert choice_posterior(["b", "b"], ["a", "b"], 0.7)[1] == pytest.approx(0.49 / 0.58)
    # a tie goes to the option listed first, at 1/2
    assert choice_posterior(["b", "a"], ["a", "b"], 0.7) == ("a", pytest.approx(0.5))
    # three options: one answer "c" at 0.6 -> 0.6 / (0.6 + 0.2 + 0.2)
    assert choice_posterior(["c"], ["a", "b", "c"], 0.6) == ("c", pytest.approx(0.6))
    # per-answer accuracies: a confident "a" outweighs a weak "b"
    value, p = choice_posterior(["a", "b"], ["a", "b"], [0.9, 0.6])
    assert value == "a" and p == pytest.approx(0.9 * 0.4 / (0.9 * 0.4 + 0.1 * 0.6))
    # relabelling the options does not change the confidence
    assert choice_posterior(["x", "x", "y"], ["x", "y"], 0.8)[1] == pytest.approx(
        choice_posterior(["y", "y", "x"], ["y", "x"], 0.8)[1]
    )
    assert math.isclose(choice_posterior(["a"] * 30, ["a", "b"], 0.7)[1], 1.0, abs_tol=1e-9)


def test_routing_pausing_and_more_labels() -> None:
    p = QualityPolicy.parse({"pause_below": 0.75, "pause_min_gold": 4})
    assert review_route(0.95, True, p) == "failed_gold"
    assert review_route(0.5, False, p) == "low_confidence"
    assert review_route(0.95, False, p) == "routine" and review_route(None, False, p) == "routine"
    assert failed_gold(3, 4, p) and not failed_gold(4, 5, p) and not failed_gold(0, 0, p)
    assert pause_reason(0, 3, p) is None  # too few gold answers yet
    assert "2/4 (50%" in (pause_reason(2, 4, p) or "") and pause_reason(3, 4, p) is None
    assert pause_reason(1, 5, p) == (
        "gold accuracy 1/5 (20%; 95% interval 4% to 62%) is below the project's 75% (quality.pause_below)"
    )
    assert pause_reason(0, 10, DEFAULT_POLICY) is None  # auto-pause off
    a = QualityPolicy.parse({"target_confidence": 0.9, "min_labels": 2, "max_labels": 4, "budget_labels": 1})
    assert wants_more_labels(a, 1, 1.0, 99)  # below min: always, and free of the budget
    assert wants_more_labels(a, 2, 0.7, 0) and not wants_more_labels(a, 2, 0.95, 0)
    assert not wants_more_labels(a, 2, 0.7, 1)  # budget spent
    assert not wants_more_labels(a, 4, 0.5, 0)  # at the cap
    assert not wants_more_labels(DEFAULT_POLICY, 1, 0.1, 0)  # adaptive off


class _Choice:
    type = "choices"
    name = "label"
    options = ["pos", "neg"]
    multiple = False


def test_task_consensus_and_gold() -> None:
    values, conf = task_consensus(
        [_Choice()], [("1", {"label": "pos"}), ("2", {"label": "pos"})], DEFAULT_POLICY
    )
    assert values["label"]["value"] == "pos" and values["label"]["n"] == 2
    assert conf == pytest.approx(0.49 / 0.58)
    assert task_consensus([_Choice()], [], DEFAULT_POLICY) == ({}, None)
    assert gold_correct([_Choice()], {"label": "pos"}, {"label": "pos"}) is True
    assert gold_correct([_Choice()], {"label": "neg"}, {"label": "pos"}) is False
    assert gold_correct([_Choice()], {"label": "neg"}, {}) is None


def test_gold_from_before_a_control_changed_type_does_not_count() -> None:
    # answers and gold answers are kept as made when the schema changes (docs/security.md, D-06):
    # a choices gold answer against a rating answer cannot be compared; it raised a TypeError,
    # a 500 on every gold submit of a project with pause_below (the submit lost)
    from labelhouse.controls import parse_schema

    rating = parse_schema({"controls": [{"name": "label", "type": "rating", "min": 1, "max": 3}]})
    assert gold_correct(rating.controls, {"label": 2}, {"label": "pos"}) is None
    assert gold_correct(rating.controls, {"label": "neg"}, {"label": 2}) is None
    assert gold_correct(rating.controls, {"label": 2}, {"label": 3}) is True
    # an optional control left unanswered: wrong against a gold answer that fits it, nothing
    # against one that no longer does (as the report counts it)
    optional = parse_schema(
        {"controls": [{"name": "label", "type": "rating", "min": 1, "max": 3, "required": False}]}
    )
    assert gold_correct(optional.controls, {}, {"label": 3}) is False
    assert gold_correct(optional.controls, {}, {"label": "pos"}) is None


def test_a_gold_answer_from_before_a_control_changed_type_adds_nothing_to_the_record() -> None:
    # the record's exact gold evidence (services.credits.gold_credit) must agree with gold
    # scoring: a gold answer that no longer fits the control (a list, from when it was multiple)
    # cannot be compared, so it counts neither way; it counted every answer to it as wrong
    from labelhouse.controls import parse_schema
    from labelhouse.services.credits import gold_credit

    single = parse_schema({"controls": [{"name": "label", "type": "choices", "options": ["pos", "neg"]}]})
    assert gold_correct(single.controls, {"label": "pos"}, {"label": ["pos"]}) is None
    assert gold_credit(single.controls, {"label": "pos"}, {"label": ["pos"]}) == (0.0, 0)
    assert gold_credit(single.controls, {"label": "pos"}, {"label": "pos"}) == (1.0, 1)
    assert gold_credit(single.controls, {"label": "neg"}, {"label": "pos"}) == (0.0, 1)


def test_per_annotator_accuracy_weights_the_posterior_by_hand() -> None:
    from labelhouse.quality.policy import annotator_accuracy, answer_credit, choice_distribution, vote_weight

    policy = QualityPolicy.parse({"target_confidence": 0.9, "assumed_accuracy": 0.7})
    # no record: the assumed accuracy; a record pulls it towards the record, 4 pseudo-answers
    assert annotator_accuracy(0, 0, policy) == pytest.approx(0.7)
    assert annotator_accuracy(38, 40, policy) == pytest.approx(40.8 / 44)
    assert annotator_accuracy(0, 40, policy) == 0.5 and annotator_accuracy(1000, 1000, policy) == 0.99
    # one trusted "pos" (0.95) against two weak "neg" (0.6): pos 0.95*0.4*0.4, neg 0.05*0.6*0.6
    dist = choice_distribution(["pos", "neg", "neg"], ["pos", "neg"], [0.95, 0.6, 0.6])
    assert dist["pos"] == pytest.approx(0.152 / 0.170)
    assert choice_posterior(["pos", "neg", "neg"], ["pos", "neg"], [0.95, 0.6, 0.6])[0] == "pos"
    assert answer_credit(["pos", "neg", "neg"], ["pos", "neg"], [0.95, 0.6, 0.6]) == pytest.approx(
        [0.152 / 0.170, 0.018 / 0.170, 0.018 / 0.170]
    )
    # the log-odds weight: zero for a coin flip, log(a (k - 1) / (1 - a)) otherwise
    assert vote_weight(0.5, 2) == 0.0 and vote_weight(0.25, 4) == 0.0
    assert vote_weight(0.9, 3) == pytest.approx(math.log(18))


def test_task_consensus_and_credit_with_estimates() -> None:
    from labelhouse.controls.choices import ChoicesConfig
    from labelhouse.quality.policy import vote_weight
    from labelhouse.quality.task import task_credit

    config = ChoicesConfig(name="label", type="choices", options=["pos", "neg"])
    policy = QualityPolicy.parse({"target_confidence": 0.9})
    answers = [("a", {"label": "pos"}), ("b", {"label": "neg"}), ("c", {"label": "neg"})]
    plain, plain_conf = task_consensus([config], answers, policy)
    assert plain["label"]["value"] == "neg" and plain_conf == pytest.approx(0.7)
    accuracy = {"a": 0.95, "b": 0.6, "c": 0.6}
    weighted, conf = task_consensus([config], answers, policy, accuracy)
    # the trusted annotator outweighs two weak ones in the posterior, but the stored value is
    # never an option fewer annotators chose (the plurality rule): "neg", with its posterior as
    # the task's confidence, low, so adaptive overlap asks for another label
    assert weighted["label"]["value"] == "neg" and conf == pytest.approx(0.018 / 0.170)
    assert weighted["label"]["confidence"] == pytest.approx(
        2 * vote_weight(0.6, 2) / (vote_weight(0.95, 2) + 2 * vote_weight(0.6, 2)), abs=1e-3
    )
    # between options chosen equally often the records decide
    tied, tied_conf = task_consensus([config], answers[:2], policy, accuracy)
    assert tied["label"]["value"] == "pos" and tied_conf == pytest.approx(
        0.95 * 0.4 / (0.95 * 0.4 + 0.05 * 0.6)
    )
    # a fourth answer for "pos" makes it a tied leader, and the posterior's winner: stored
    more = [*answers, ("d", {"label": "pos"})]
    assert task_consensus([config], more, policy, {**accuracy, "d": 0.6})[0]["label"]["value"] == "pos"
    credit = task_credit([config], answers, accuracy)
    assert credit["a"] == (pytest.approx(0.152 / 0.170), 1) and credit["b"][1] == 1
    # one answer alone says nothing about whether it was right
    assert task_credit([config], answers[:1], accuracy) == {}


def test_answers_from_before_a_control_changed_type_stay_out_of_the_stop_rule_and_credit() -> None:
    # a rating 1-3 turned into choices "1", "2", "3": the old answers are ints, kept as made
    # (docs/security.md, D-06). task_consensus leaves them out (answer_fits); the predictive stop
    # rule and the annotators' records must read the same answers, not str(3) == "3" as a vote
    from labelhouse.controls import parse_schema
    from labelhouse.quality.policy import leader_holds
    from labelhouse.quality.task import task_credit, task_settled

    schema = parse_schema({"controls": [{"name": "label", "type": "choices", "options": ["1", "2", "3"]}]})
    policy = QualityPolicy.parse({"target_confidence": 0.9, "min_labels": 2, "max_labels": 6})
    accuracy = {"old1": 0.7, "old2": 0.7, "new": 0.7}
    answers = [("old1", {"label": 3}), ("old2", {"label": 3}), ("new", {"label": "1"})]
    values, _confidence = task_consensus(schema.controls, answers, policy, accuracy)
    assert values["label"]["value"] == "1" and values["label"]["n"] == 1
    # the stop rule: "1" leads alone with the 3 labels left up to max_labels (the stale votes
    # for "3" made it the leader to hold, 0.74)
    assert task_settled(schema.controls, answers, policy, accuracy) == pytest.approx(
        leader_holds([1.0, 0.0, 0.0], 3)
    )
    # the records: one fitting answer says nothing (the stale "3"s credited 0.79 each, and the
    # only real answer 0.17 for disagreeing with them)
    assert task_credit(schema.controls, answers, accuracy) == {}


def test_list_and_object_answers_of_another_control_type_stay_out() -> None:
    # spans, boxes, ranking and multiple choices all answer with a list, preference and a rubric
    # with an object: a control changed between them keeps its old answers (D-06), and "a list"
    # let them into the new type's rule (a KeyError / TypeError: a 500 on the completing submit,
    # a review decision, the export and the report)
    from labelhouse.controls import parse_schema
    from labelhouse.quality.task import answer_fits

    spans = [{"start": 0, "end": 3, "label": "x"}]
    boxes = [{"type": "rectangle", "label": "x", "x": 1.0, "y": 1.0, "w": 2.0, "h": 2.0}]
    stale: dict[str, list[Any]] = {
        "boxes": [spans, [1, 0], ["x"]],
        "spans": [boxes, [1, 0], ["x"]],
        "ranking": [spans, boxes, ["x"]],
        "choices": [spans, [1, 0]],
        "preference": [{"helpful": 3}],
    }
    fresh: dict[str, Any] = {"boxes": boxes, "spans": spans, "ranking": [1, 0], "choices": ["x"]}
    configs = {
        "boxes": {"type": "boxes", "over": "image", "labels": ["x"]},
        "spans": {"type": "spans", "over": "text", "labels": ["x"]},
        "ranking": {"type": "ranking", "over": "responses"},
        "choices": {"type": "choices", "options": ["x", "y"], "multiple": True},
        "preference": {"type": "preference", "over": "responses"},
    }
    fresh["preference"] = {"winner": "a", "strength": 1}
    for kind, config in configs.items():
        schema = parse_schema({"controls": [{"name": "o", **config}]})
        fits = answer_fits(schema.controls[0])
        assert fits(fresh[kind]) and fits([]) is (kind != "preference"), kind
        for old in stale[kind]:
            assert not fits(old), (kind, old)
            answers = [("a", {"o": old}), ("b", {"o": old}), ("c", {"o": fresh[kind]})]
            values, _ = task_consensus(schema.controls, answers, DEFAULT_POLICY)
            assert values["o"]["n"] == 1, (kind, old)
