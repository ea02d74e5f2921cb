"""One control's section of the quality report, on small hand-checked cases for every control type."""

from __future__ import annotations

import math
from typing import Any

import pytest

from labelhouse.controls import parse_schema
from labelhouse.quality.control_report import control_report
from labelhouse.quality.leaderboard import leaderboard, response_names, votes_from_rankings


def _config(**control: Any) -> Any:
    return parse_schema({"controls": [{"name": "c", **control}]}).controls[0]


def test_multiple_choice_consensus_and_per_option_agreement() -> None:
    config = _config(type="choices", options=["x", "y", "z"], multiple=True)
    answers = [
        ("1", "ann", ["x", "y"]),
        ("1", "bob", ["x", "y"]),
        ("1", "eve", ["z"]),
        ("2", "ann", ["z"]),
        ("2", "bob", ["z"]),
        ("2", "eve", ["x"]),
    ]
    section = control_report(config, answers, method="ds_map").section
    by_task = {row["task_id"]: row["value"] for row in section["consensus"]}
    assert by_task == {1: ["x", "y"], 2: ["z"]}
    rel = {a["annotator"]: a["reliability"] for a in section["annotators"]}
    assert rel["ann"] == rel["bob"] == 1.0 and rel["eve"] == 0.0
    per = {p["label"]: p for p in section["agreement"]["per_label"]}
    assert set(per) == {"x", "y", "z"}
    pairs = {(p["a"], p["b"]): p for p in section["agreement"]["pairs"]}
    assert (
        pairs[("ann", "bob")]["value"] == 1.0 and pairs[("ann", "bob")]["items"] == 6
    )  # 2 tasks x 3 options
    assert pairs[("ann", "eve")]["value"] < 0


def test_spans_pairwise_f1_per_pair_and_per_label() -> None:
    config = _config(type="spans", over="text", labels=["PER", "ORG"])
    per = {"start": 0, "end": 4, "label": "PER"}
    org = {"start": 10, "end": 14, "label": "ORG"}
    answers = [("1", "ann", [per, org]), ("1", "bob", [per]), ("1", "eve", [per, org])]
    section = control_report(config, answers, method="ds_map").section
    assert section["consensus"][0]["value"] == [
        {"start": 0, "end": 4, "label": "PER"},
        {"start": 10, "end": 14, "label": "ORG"},
    ]
    pairs = {(p["a"], p["b"]): p["value"] for p in section["agreement"]["pairs"]}
    assert pairs == {
        ("ann", "bob"): pytest.approx(2 / 3, abs=1e-4),
        ("ann", "eve"): 1.0,
        ("bob", "eve"): pytest.approx(2 / 3, abs=1e-4),
    }
    labels = {p["label"]: p["f1"] for p in section["agreement"]["per_label"]}
    assert labels["PER"] == 1.0 and labels["ORG"] == pytest.approx(1 / 3, abs=1e-4)
    assert section["agreement"]["pair_measure"] == "span_f1"
    rel = {a["annotator"]: a["reliability"] for a in section["annotators"]}
    assert rel["bob"] < rel["ann"] == rel["eve"] == 1.0


def test_boxes_consensus_weights_reliable_annotators() -> None:
    config = _config(type="boxes", over="image", labels=["car"])

    def box(x: float) -> dict[str, Any]:
        return {"type": "rectangle", "label": "car", "x": x, "y": 0, "w": 10, "h": 10}

    answers = [
        (str(t), a, [box(0 if a != "eve" else 50)]) for t in range(1, 4) for a in ("ann", "bob", "eve")
    ]
    section = control_report(config, answers, method="ds_map").section
    for row in section["consensus"]:
        assert [round(b["x"], 6) for b in row["value"]] == [0.0]
    assert section["agreement"]["pair_measure"] == "box_f1"
    pairs = {(p["a"], p["b"]): p["value"] for p in section["agreement"]["pairs"]}
    assert pairs[("ann", "bob")] == 1.0 and pairs[("ann", "eve")] == 0.0


def test_rating_per_criterion_spread_and_alpha() -> None:
    config = _config(type="rating", min=1, max=5, criteria=[{"name": "help"}, {"name": "safe"}])
    answers = [
        ("1", "ann", {"help": 5, "safe": 1}),
        ("1", "bob", {"help": 5, "safe": 2}),
        ("2", "ann", {"help": 1, "safe": 5}),
        ("2", "bob", {"help": 2, "safe": 5}),
    ]
    section = control_report(config, answers, method="ds_map").section
    crit = {c["name"]: c for c in section["criteria"]}
    # reliability-weighted means of 5 and of 1 and 2 (weights near equal)
    assert crit["help"]["tasks"] == 2 and 3.0 < crit["help"]["mean"] < 3.5
    per = {p["label"]: p for p in section["agreement"]["per_label"]}
    assert per["help"]["alpha"] > 0.8 and per["safe"]["alpha"] > 0.8
    assert section["agreement"]["level"] == "interval"


def test_preference_leaderboard_ranks_models_and_position_bias() -> None:
    config = _config(type="preference", over="responses")
    responses: dict[str, Any] = {}
    answers = []
    # strong beats weak 3 times out of 4 whatever side it is shown on
    for t in range(40):
        left, right = ("strong", "weak") if t % 2 else ("weak", "strong")
        responses[str(t)] = [{"model": left, "text": "."}, {"model": right, "text": "."}]
        strong_side = "a" if left == "strong" else "b"
        weak_side = "b" if strong_side == "a" else "a"
        answers.append((str(t), "ann", {"winner": strong_side if t % 4 else weak_side, "strength": 1}))
    section = control_report(config, answers, method="ds_map", responses=responses).section
    board = section["leaderboard"]
    assert board["ranks"] == "models" and board["votes"] == 40
    top, bottom = board["entries"]
    assert top["name"] == "strong" and top["wins"] == 30 and top["losses"] == 10
    # plain BT: exp(theta_s - theta_w) = 3, centred
    assert top["score"] == pytest.approx(math.log(3) / 2, abs=1e-3)
    assert top["ci95"][0] < top["score"] < top["ci95"][1]
    assert top["elo"] > bottom["elo"]
    assert board["position_bias"]["left_wins"] + board["position_bias"]["right_wins"] == 40


def test_positions_when_items_name_no_model() -> None:
    assert response_names(["x", "y"], 2) == (["A", "B"], False)
    assert response_names([{"model": "m1"}, {"model": "m2"}, {"model": "m3"}], 3) == (
        ["m1", "m2", "m3"],
        True,
    )
    assert response_names(["x", "y", "z"], 3)[0] == ["#1", "#2", "#3"]
    # ranking [2, 0, 1]: 2 beats 0 and 1, 0 beats 1; the lower index is on the left
    assert sorted(votes_from_rankings([(["p", "q", "r"], [2, 0, 1])])) == [
        ("p", "q", "a"),
        ("p", "r", "b"),
        ("q", "r", "b"),
    ]
    assert leaderboard([])["entries"] == []


def test_ranking_section_has_leaderboard_and_agreement() -> None:
    config = _config(type="ranking", over="responses")
    answers = [
        (str(t), a, [0, 1, 2] if a != "eve" else [2, 1, 0]) for t in range(5) for a in ("ann", "bob", "eve")
    ]
    section = control_report(config, answers, method="ds_map", responses={}).section
    names = [e["name"] for e in section["leaderboard"]["entries"]]
    assert names == ["#1", "#2", "#3"] and section["leaderboard"]["ranks"] == "positions"
    pairs = {(p["a"], p["b"]): p["value"] for p in section["agreement"]["pairs"]}
    assert pairs[("ann", "bob")] == 1.0 and pairs[("ann", "eve")] == 0.0
    rel = {a["annotator"]: a["agreement_with_consensus"] for a in section["annotators"]}
    assert rel["eve"] == 0.0 and rel["ann"] == 1.0


def test_a_ranking_leaderboard_resamples_whole_rankings() -> None:
    # a ranking of 5 is 10 pairs that stand or fall together: resampling the pairs as if they
    # were independent votes gave intervals about 30 % too narrow. The bootstrap resamples
    # rankings; its intervals match a hand-made resampling by ranking, not the pairwise one
    import numpy as np

    rng = np.random.default_rng(1)
    models = [{"model": f"m{i}"} for i in range(5)]
    strength = np.array([1.0, 0.5, 0.0, -0.5, -1.0])
    answers = [
        (str(t), "ann", [int(i) for i in np.argsort(-(strength + rng.gumbel(size=5)))]) for t in range(60)
    ]
    config = _config(type="ranking", over="responses")
    board = control_report(
        config, answers, method="mv", responses={t: models for t, _a, _v in answers}
    ).section["leaderboard"]
    names = [m["model"] for m in models]
    votes = [v for _t, _a, order in answers for v in votes_from_rankings([(names, order)])]
    pairwise = {e["name"]: e["ci95"][1] - e["ci95"][0] for e in leaderboard(votes)["entries"]}
    by_ranking = {e["name"]: e["ci95"][1] - e["ci95"][0] for e in board["entries"]}
    assert board["votes"] == 600 and board["bootstrap_samples"] == 200
    assert sum(by_ranking.values()) > 1.15 * sum(pairwise.values())


def test_answers_with_an_option_removed_from_the_schema_since() -> None:
    # a manager dropped "neu" after people had answered it: the report still runs (it was a 422,
    # "labels not among the classes") and, as the one-coin posterior does, counts the old label
    # after the options
    config = _config(type="choices", options=["pos", "neg"])
    answers = [("1", "a", "pos"), ("1", "b", "pos"), ("2", "a", "neu"), ("2", "b", "neg"), ("3", "a", "neu")]
    for method in ("mv", "ds_vb"):
        section = control_report(config, answers, [], method=method).section
        assert section["tasks"] == 3 and section["answers"] == 5
        labels = {row["task_id"]: row["label"] for row in section["consensus"]}
        assert labels[1] == "pos" and labels[3] == "neu"


def test_a_leaderboard_of_ties_only_ranks_everyone_equal() -> None:
    # no decided vote (early in a project everyone said "tie"): the tie parameter has no finite
    # optimum even with the fallback prior, and the whole report was a 422 "pass l2 > 0"
    board = leaderboard([("x", "y", "tie"), ("y", "x", "tie"), ("x", "z", "tie")])
    assert [e["score"] for e in board["entries"]] == [0.0, 0.0, 0.0]
    assert [e["name"] for e in board["entries"]] == ["x", "y", "z"]
    # ties say nothing about the scores: the interval is the fallback prior's, not [0, 0]
    assert board["entries"][0]["ci95"] == [-16.003, 16.003] and board["entries"][0]["win_vs_average"] == 0.5
    assert board["regularised"]
    assert board["entries"][0]["ties"] == 3 and board["tie_parameter"] is None
    assert board["position_bias"]["ties"] == 3


def test_a_huge_confusion_matrix_falls_back_to_one_coin_and_says_so() -> None:
    """500 options and 100 annotators: Dawid-Skene would keep 100 x 500 x 500 cells (25M, over the
    limit) in several arrays; the report uses one_coin instead and names why."""
    options = [f"o{i}" for i in range(500)]
    config = _config(type="choices", options=options)
    answers = [(str(t), f"a{w}", options[(t + (w % 3 == 0)) % 500]) for t in range(50) for w in range(100)]
    section = control_report(config, answers, method="ds_vb").section
    assert section["method"] == "one_coin" and "one_coin was used instead" in section["method_note"]
    assert "25,000,000 cells" in section["method_note"]
    by_task = {row["task_id"]: row["label"] for row in section["consensus"]}
    assert by_task[7] == "o7"  # two in three annotators chose the task's own option
    small = control_report(
        _config(type="choices", options=["x", "y"]), [("1", "a", "x"), ("1", "b", "x")], method="ds_vb"
    )
    assert small.section["method"] == "ds_vb" and "method_note" not in small.section


def test_an_annotator_who_shared_no_task_has_no_estimated_reliability() -> None:
    config = _config(type="choices", options=["x", "y"])
    answers = [("1", "ann", "x"), ("1", "bob", "x"), ("2", "ann", "y"), ("2", "bob", "x"), ("3", "solo", "y")]
    section = control_report(config, answers, method="ds_vb").section
    by_name = {a["annotator"]: a for a in section["annotators"]}
    assert by_name["solo"]["reliability"] is None and by_name["solo"]["agreement_with_consensus"] is None
    assert by_name["ann"]["reliability"] is not None and by_name["bob"]["reliability"] is not None


def test_a_method_out_of_memory_falls_back_to_one_coin(monkeypatch: pytest.MonkeyPatch) -> None:
    from labelhouse.quality import get_method

    def starved(self: Any, answers: Any, *, seed: int = 0) -> Any:
        raise MemoryError

    monkeypatch.setattr(type(get_method("ds_vb")), "infer", starved)
    config = _config(type="choices", options=["x", "y"])
    section = control_report(config, [("1", "a", "x"), ("1", "b", "x")], method="ds_vb").section
    assert section["method"] == "one_coin" and "ran out of memory" in section["method_note"]
