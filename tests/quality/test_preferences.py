"""Bradley-Terry (Davidson ties) against a direct likelihood optimum, Elo, bootstrap, rankings, position bias."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from labelhouse.core.errors import Invalid
from labelhouse.quality import (
    Comparisons,
    bootstrap_scores,
    elo_ratings,
    fit_bradley_terry,
    fit_votes,
    pairs_from_ranking,
    position_bias,
)
from labelhouse.quality.comparisons import LEFT, RIGHT, TIE
from labelhouse.quality.leaderboard import leaderboard

TINY = [("a", "b", "a")] * 6 + [("a", "b", "b")] * 2 + [("b", "c", "b")] * 5 + [("b", "c", "tie")] * 3
TINY += [("c", "b", "a")] * 2 + [("a", "c", "a")] * 4 + [("a", "c", "tie")] * 1 + [("c", "a", "a")] * 1


def davidson_nll(params: np.ndarray, votes: Comparisons) -> float:
    theta = np.append(params[:-1], 0.0)
    lam = params[-1]
    a, b = theta[votes.left], theta[votes.right]
    log_d = np.logaddexp(np.logaddexp(a, b), lam + 0.5 * (a + b))
    own = np.where(votes.outcome == LEFT, a, np.where(votes.outcome == RIGHT, b, lam + 0.5 * (a + b)))
    return -float((own - log_d).sum())


def test_matches_a_direct_likelihood_optimum() -> None:
    votes = Comparisons.from_triples(TINY)
    fit = fit_votes(votes)
    direct = minimize(
        davidson_nll, np.zeros(votes.n_items), args=(votes,), method="BFGS", options={"gtol": 1e-10}
    )
    theta = np.append(direct.x[:-1], 0.0)
    np.testing.assert_allclose(fit.scores, theta - theta.mean(), atol=1e-5)
    assert fit.tie == pytest.approx(np.exp(direct.x[-1]), abs=1e-5)
    assert fit.log_likelihood == pytest.approx(-direct.fun, abs=1e-8)
    p = fit.probabilities(0, 1)
    assert sum(p) == pytest.approx(1.0)


def test_without_ties_it_is_plain_bradley_terry() -> None:
    # two items: the MLE is the log odds of the win counts
    wins = np.array([[0.0, 3.0], [1.0, 0.0]])
    fit = fit_bradley_terry(wins)
    assert fit.scores[0] - fit.scores[1] == pytest.approx(np.log(3.0))
    assert fit.tie == 0.0


def test_no_finite_optimum_is_an_error_unless_regularised() -> None:
    wins = np.array([[0.0, 3.0], [0.0, 0.0]])
    with pytest.raises(Invalid):
        fit_bradley_terry(wins)
    assert fit_bradley_terry(wins, l2=1.0).scores[0] > 0


def test_bootstrap_is_seeded_and_covers_the_fit() -> None:
    votes = Comparisons.from_triples(TINY * 5)
    one = bootstrap_scores(votes, samples=60, seed=4)
    two = bootstrap_scores(votes, samples=60, seed=4)
    np.testing.assert_array_equal(one.low, two.low)
    assert np.all(one.low <= one.fit.scores) and np.all(one.fit.scores <= one.high)


def test_elo_orders_like_bradley_terry_and_counts_ties_half() -> None:
    votes = Comparisons.from_triples(TINY * 20)
    elo = elo_ratings(votes, shuffle_seed=1)
    assert list(np.argsort(elo)) == list(np.argsort(fit_votes(votes).scores))
    tie = Comparisons.from_triples([("x", "y", "tie")])
    np.testing.assert_allclose(elo_ratings(tie), [1000.0, 1000.0])


def test_rankings_become_pairs_with_tied_groups() -> None:
    assert pairs_from_ranking([2, [0, 1], 3]) == [
        (2, 0, LEFT), (2, 1, LEFT), (2, 3, LEFT), (0, 1, TIE), (0, 3, LEFT), (1, 3, LEFT),
    ]  # fmt: skip


def test_position_bias() -> None:
    votes = Comparisons.from_codes([0] * 80 + [1] * 20, [1] * 80 + [0] * 20, [LEFT] * 70 + [RIGHT] * 30)
    bias = position_bias(votes)
    assert bias.left_rate == 0.7 and bias.low < 0.7 < bias.high and bias.p_value < 1e-3
    with pytest.raises(Invalid):
        Comparisons.from_triples([("a", "b", "maybe")])


def test_a_record_with_ties_but_no_loss_has_no_finite_optimum() -> None:
    # a beat b once and tied once: a never lost, so the likelihood keeps rising as a's score and
    # the tie parameter run off to infinity together (slowly); it used to come back as a "fit"
    # of +-18.6
    votes = Comparisons.from_triples([("a", "b", "a"), ("b", "a", "tie")])
    with pytest.raises(Invalid):
        fit_votes(votes)
    # the same in a larger graph: c beats both and ties b but never loses
    chain = [("a", "b", "a"), ("b", "a", "a"), ("c", "a", "a"), ("c", "b", "tie"), ("c", "b", "a")]
    with pytest.raises(Invalid):
        fit_votes(Comparisons.from_triples(chain * 5))
    # only ties: the tie parameter has no finite optimum
    with pytest.raises(Invalid):
        fit_votes(Comparisons.from_triples([("a", "b", "tie"), ("b", "a", "tie")]))
    # every item both wins and loses within one group: a finite optimum exists and is found
    fine = [("a", "b", "a"), ("a", "b", "tie"), ("b", "a", "b"), ("b", "a", "a")]
    assert np.all(np.isfinite(fit_votes(Comparisons.from_triples(fine)).scores))


def test_bootstrap_resamples_where_an_item_never_lost_are_kept_with_the_prior() -> None:
    # a beat b 9 times out of 10: a third of the resamples are 10-0, with no finite optimum.
    # They used to be fitted with a 1e-9 prior, which put a at +10.3 and made that the upper
    # bound (a win probability of 1.0); with the fallback prior a 10-0 record scores about 2.9,
    # near the Wilson bound of 9/10 (0.982, half its log odds is 2.0)
    votes = Comparisons.from_triples([("a", "b", "a")] * 9 + [("a", "b", "b")])
    ci = bootstrap_scores(votes, samples=200, seed=0)
    assert ci.samples == 200
    assert ci.low[0] <= ci.fit.scores[0] <= ci.high[0] < 3.5
    np.testing.assert_allclose(ci.high[0], -ci.low[1])


@pytest.mark.parametrize("record", [1, 5])
def test_an_unbeaten_record_has_an_interval_not_a_point(record: int) -> None:
    # every bootstrap resample of a 1-0 or 5-0 record is the same record, so the bootstrap alone
    # said a's score was exactly 1.957 after a single vote; under the fallback prior the data
    # cannot rule out that b is as good (0 inside the interval) nor a much better
    board = leaderboard([("a", "b", "a")] * record)
    assert board["regularised"]
    a = board["entries"][0]
    assert a["name"] == "a" and a["ci95"][0] < 0 < a["score"] < a["ci95"][1]
    assert a["ci95"][1] - a["ci95"][0] > 4


def test_items_never_compared_across_groups_are_flagged() -> None:
    # {a, b} and {c, d} are never compared: the prior centres each group on 0, so b and d tie at
    # the top although nothing relates them; the board says so instead of ranking them 1 and 2
    votes = [
        ("a", "b", "a"),
        ("b", "a", "a"),
        ("a", "b", "b"),
        ("c", "d", "a"),
        ("d", "c", "a"),
        ("c", "d", "b"),
    ]
    board = leaderboard(votes)
    assert board["groups"] == 2
    assert {e["name"]: e["group"] for e in board["entries"]} == {"a": 1, "b": 1, "c": 2, "d": 2}
    connected = leaderboard(TINY)
    assert connected["groups"] == 1 and {e["group"] for e in connected["entries"]} == {1}
    assert leaderboard([])["groups"] == 0


def test_position_bias_within_pairs_shown_both_ways() -> None:
    # x is better than y; x on the left wins 6 of 8, on the right 3 of 6. The raw first-shown
    # share (9 of 14) mixes the position effect with x's strength whenever x sits on one side
    # more often; within the pair the odds of the left one winning are 6*3 / (2*3) = 3 times
    # the right one's (Mantel-Haenszel), a left-hand advantage g = sqrt(3): among equals the
    # first shown wins g / (1 + g)
    votes = Comparisons.from_triples(
        [("x", "y", "a")] * 6 + [("x", "y", "b")] * 2 + [("y", "x", "a")] * 3 + [("y", "x", "b")] * 3
    )
    bias = position_bias(votes)
    assert bias.left_rate == pytest.approx(9 / 14)
    within = bias.within_pairs
    assert within is not None and (within.pairs, within.votes) == (1, 14)
    assert within.left_rate == pytest.approx(np.sqrt(3) / (1 + np.sqrt(3)))
    # one pair: the Robins-Breslow-Greenland variance is Woolf's, 1/a + 1/b + 1/c + 1/d, of log g^2
    sd = 0.5 * np.sqrt(1 / 6 + 1 / 2 + 1 / 3 + 1 / 3)
    low, high = 1 / (1 + np.exp(-(0.5 * np.log(3) + np.array([-1.959964, 1.959964]) * sd)))
    assert within.low == pytest.approx(low) and within.high == pytest.approx(high)
    # the same with the names swapped and the other pair order: the same numbers
    swapped = Comparisons.from_triples(
        [("b2", "a2", "a")] * 6 + [("b2", "a2", "b")] * 2 + [("a2", "b2", "a")] * 3 + [("a2", "b2", "b")] * 3
    )
    assert position_bias(swapped).within_pairs == within
    # a model always shown first: its strength and the position cannot be told apart
    always = Comparisons.from_triples([("x", "y", "a")] * 8 + [("x", "y", "b")] * 2)
    assert position_bias(always).left_rate == 0.8 and position_bias(always).within_pairs is None
    # with no position effect and equal counts both ways: 1/2 exactly
    fair = Comparisons.from_triples(
        [("x", "y", "a")] * 3 + [("x", "y", "b")] + [("y", "x", "b")] * 3 + [("y", "x", "a")]
    )
    fair_within = position_bias(fair).within_pairs
    assert fair_within is not None and fair_within.left_rate == pytest.approx(0.5)


def test_the_leaderboard_reports_the_position_bias_within_pairs() -> None:
    board = leaderboard(
        [("x", "y", "a")] * 6 + [("x", "y", "b")] * 2 + [("y", "x", "a")] * 3 + [("y", "x", "b")] * 3
    )
    within = board["position_bias"]["within_pairs"]
    assert within["pairs"] == 1 and within["votes"] == 14
    assert within["left_rate"] == pytest.approx(0.634, abs=1e-3)
    assert within["ci95"][0] < within["left_rate"] < within["ci95"][1]
    assert leaderboard([("x", "y", "a")] * 3 + [("x", "y", "b")])["position_bias"]["within_pairs"] is None


def test_ties_only_say_nothing_about_the_scores() -> None:
    # with ties only the tie parameter runs off to infinity and the scores drop out of the
    # likelihood: the interval is the prior's, not the zero-width [0, 0] it used to be
    board = leaderboard([("x", "y", "tie")])
    assert board["tie_parameter"] is None
    for e in board["entries"]:
        assert e["score"] == 0.0 and e["ci95"][0] < -10 and e["ci95"][1] > 10


def test_the_leaderboard_is_seeded_and_invariant_to_renaming() -> None:
    votes = TINY * 3
    one, two = leaderboard(votes, seed=7), leaderboard(votes, seed=7)
    assert one == two
    rename = {"a": "zeta", "b": "alpha", "c": "mu"}
    renamed = leaderboard([(rename[x], rename[y], w) for x, y, w in votes], seed=7)
    by_name = {
        rename[e["name"]]: {k: v for k, v in e.items() if k not in ("name", "rank")} for e in one["entries"]
    }
    assert {
        e["name"]: {k: v for k, v in e.items() if k not in ("name", "rank")} for e in renamed["entries"]
    } == by_name
    assert renamed["position_bias"] == one["position_bias"]


def test_position_bias_within_pairs_when_the_first_shown_never_lost_there() -> None:
    # x shown first won 4 of 4; shown second, 2 of 4: the odds ratio is infinite (no right-hand
    # win with x first), and the measure used to be missing although the pair was shown both
    # ways. Half a vote in each cell (Haldane) gives 4.5 * 2.5 / (0.5 * 2.5) = 9, g = 3
    votes = Comparisons.from_triples([("x", "y", "a")] * 4 + [("y", "x", "b")] * 2 + [("y", "x", "a")] * 2)
    within = position_bias(votes).within_pairs
    assert within is not None and (within.pairs, within.votes) == (1, 8)
    assert within.left_rate == pytest.approx(0.75)
    sd = 0.5 * np.sqrt(1 / 4.5 + 1 / 0.5 + 1 / 2.5 + 1 / 2.5)
    assert within.low == pytest.approx(1 / (1 + np.exp(-(np.log(3) - 1.959964 * sd))))
