"""A leaderboard from preference and ranking answers: Bradley-Terry with ties, bootstrap intervals,
Elo, and position bias (does the response shown first win more often?)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labelhouse.core.errors import Invalid
from labelhouse.quality.bradley_terry import (
    FALLBACK_L2,
    BradleyTerryFit,
    ScoreIntervals,
    bootstrap_scores,
    posterior_intervals,
)
from labelhouse.quality.comparisons import Comparisons, pairs_from_ranking, position_bias
from labelhouse.quality.elo import elo_ratings

BOOTSTRAP_SAMPLES = 200

__all__ = ["leaderboard", "response_names", "votes_from_preferences", "votes_from_rankings"]


def response_names(responses: Any, count: int) -> tuple[list[str], bool]:
    """The names that a leaderboard ranks for one item's responses, and whether they are models.

    When every response is an object with a non-empty string ``model``, the models are ranked
    (the same model across items is one entry); otherwise the response positions are ranked
    (``A``/``B`` for two, ``#1``..``#k`` for more), which for a preference control measures only
    where a response was shown."""
    if isinstance(responses, list) and len(responses) == count and count:
        models = [r.get("model") if isinstance(r, Mapping) else None for r in responses]
        if all(isinstance(m, str) and m.strip() for m in models):
            return [str(m) for m in models], True
    if count == 2:
        return ["A", "B"], False
    return [f"#{i + 1}" for i in range(count)], False


def votes_from_preferences(
    answers: Sequence[tuple[Sequence[str], Mapping[str, Any]]],
) -> list[tuple[str, str, str]]:
    """``(names of A and B, answer)`` pairs as ``(A, B, winner)`` votes (winner a, b or tie)."""
    return [(names[0], names[1], answer["winner"]) for names, answer in answers if names[0] != names[1]]


def votes_from_rankings(answers: Sequence[tuple[Sequence[str], Sequence[int]]]) -> list[tuple[str, str, str]]:
    """Each ranking (indices, best first) as the votes of every earlier response over every later
    one; the response listed first in the item stands on the left, for position bias."""
    votes: list[tuple[str, str, str]] = []
    for names, order in answers:
        for better, worse, _ in pairs_from_ranking(list(order)):
            if names[better] == names[worse]:
                continue
            left, right = min(better, worse), max(better, worse)
            votes.append((names[left], names[right], "a" if left == better else "b"))
    return votes


def leaderboard(
    votes: Sequence[tuple[str, str, str]], *, seed: int = 0, clusters: Sequence[int] | None = None
) -> dict[str, Any]:
    """Bradley-Terry (Davidson ties) scores with 95% bootstrap intervals, Elo, win/loss/tie counts
    and the left/right position bias of ``(left, right, winner)`` votes.

    ``groups``: how many groups of items never compared with each other the votes fall into
    (each entry's ``group``); scores of different groups say nothing about each other.

    ``win_vs_average`` is the chance of beating a response of score 0 (the average) when ties are
    set aside, logistic(score): the same order as the scores, on a 0..1 scale a chart can draw.
    ``clusters``: per vote, the answer it came from (a ranking's pairs), which the bootstrap
    resamples whole."""
    if not votes:
        return {
            "entries": [],
            "votes": 0,
            "tie_parameter": None,
            "position_bias": None,
            "regularised": False,
            "groups": 0,
        }
    comparisons = Comparisons.from_triples(votes)
    by = None if clusters is None else np.asarray(clusters, dtype=np.int64)
    if by is not None and by.shape != (comparisons.n_votes,):
        raise Invalid(
            f"{by.size} clusters for {comparisons.n_votes} votes: give one per vote", field="clusters"
        )
    wins, ties = comparisons.counts()
    regularised = False
    if not wins.any():
        # ties only: the tie parameter has no finite optimum and the scores drop out of the
        # likelihood, so they are 0 with the interval of the fallback prior (on centred scores)
        n = comparisons.n_items
        zero = np.zeros(n)
        half = 1.959964 * math.sqrt((1 - 1 / n) / FALLBACK_L2)
        intervals = ScoreIntervals(BradleyTerryFit(zero, math.inf, 0.0, 0), zero - half, zero + half, 0)
        regularised = True
    else:
        try:
            intervals = bootstrap_scores(comparisons, samples=BOOTSTRAP_SAMPLES, seed=seed, clusters=by)
        except Invalid:
            regularised = True
            intervals = bootstrap_scores(
                comparisons, samples=BOOTSTRAP_SAMPLES, seed=seed, l2=FALLBACK_L2, clusters=by
            )
            # the bootstrap cannot see how little an unbeaten record says (its resamples are all
            # unbeaten): the interval is widened to the posterior's under the same prior
            low, high = posterior_intervals(wins, ties, intervals.fit, l2=FALLBACK_L2)
            intervals = ScoreIntervals(
                intervals.fit,
                np.minimum(intervals.low, low),
                np.maximum(intervals.high, high),
                intervals.samples,
            )
    fit = intervals.fit
    group = _groups(wins + ties)
    elo = elo_ratings(comparisons)
    entries: list[dict[str, Any]] = []
    for i, name in enumerate(comparisons.items):
        score = float(fit.scores[i])
        entries.append(
            {
                "name": name,
                "score": round(score, 4),
                "ci95": [round(float(intervals.low[i]), 4), round(float(intervals.high[i]), 4)],
                "win_vs_average": round(_logistic(score), 4),
                "win_ci95": [
                    round(_logistic(float(intervals.low[i])), 4),
                    round(_logistic(float(intervals.high[i])), 4),
                ],
                "elo": round(float(elo[i]), 1),
                "wins": int(wins[i].sum()),
                "losses": int(wins[:, i].sum()),
                "ties": int(ties[i].sum()),
                "group": group[i],
            }
        )
    entries.sort(key=lambda e: (-e["score"], e["name"]))
    for rank, entry in enumerate(entries, start=1):
        entry["rank"] = rank
    bias = position_bias(comparisons)
    return {
        "entries": entries,
        "votes": comparisons.n_votes,
        "bootstrap_samples": intervals.samples,
        "tie_parameter": round(fit.tie, 4) if math.isfinite(fit.tie) else None,
        "regularised": regularised,
        "groups": max(group, default=0),
        "position_bias": {
            "left_wins": bias.left_wins,
            "right_wins": bias.right_wins,
            "ties": bias.ties,
            "left_rate": round(bias.left_rate, 4),
            "ci95": [round(bias.low, 4), round(bias.high, 4)],
            "p_value": round(bias.p_value, 6),
            "within_pairs": None
            if bias.within_pairs is None
            else {
                "left_rate": round(bias.within_pairs.left_rate, 4),
                "ci95": [round(bias.within_pairs.low, 4), round(bias.within_pairs.high, 4)],
                "pairs": bias.within_pairs.pairs,
                "votes": bias.within_pairs.votes,
            },
        },
    }


def _groups(compared: np.ndarray) -> list[int]:
    """Per item, its group (1, 2, ... by first appearance) of items linked by comparisons: scores
    in different groups are not comparable (the prior centres each group on 0)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    labels = connected_components(csr_matrix(compared > 0), directed=False)[1]
    number: dict[int, int] = {}
    return [number.setdefault(int(label), len(number) + 1) for label in labels]


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
