"""Online Elo ratings over a sequence of pairwise votes (ties count half a win)."""

from __future__ import annotations

import numpy as np

from labelhouse.quality.answers import FloatArray
from labelhouse.quality.comparisons import LEFT, TIE, Comparisons


def elo_ratings(
    votes: Comparisons,
    *,
    k: float = 4.0,
    scale: float = 400.0,
    base: float = 10.0,
    initial: float = 1000.0,
    shuffle_seed: int | None = None,
) -> FloatArray:
    """Ratings after one pass over the votes in order (or in a seeded shuffled order).

    Elo depends on the order of the votes; for a stable ranking of a fixed set of votes use
    Bradley-Terry, which is what Elo's expected-score formula estimates. K = 4 is the small step
    LMSYS used for chatbot battles."""
    order = np.arange(votes.n_votes)
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(votes.n_votes)
    rating = [initial] * votes.n_items
    left = votes.left[order].tolist()
    right = votes.right[order].tolist()
    score = np.where(
        votes.outcome[order] == LEFT, 1.0, np.where(votes.outcome[order] == TIE, 0.5, 0.0)
    ).tolist()
    for a, b, s in zip(left, right, score, strict=True):
        expected = 1.0 / (1.0 + base ** ((rating[b] - rating[a]) / scale))
        delta = k * (s - expected)
        rating[a] += delta
        rating[b] -= delta
    return np.asarray(rating, dtype=np.float64)
