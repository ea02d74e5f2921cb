"""Pairwise preference votes as integer-coded arrays; k-way rankings as pairs; position bias."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from labelhouse.core.errors import Invalid
from labelhouse.quality.answers import FloatArray, IntArray

LEFT, RIGHT, TIE = 0, 1, 2
OUTCOMES = {"a": LEFT, "left": LEFT, "b": RIGHT, "right": RIGHT, "tie": TIE}


@dataclass(frozen=True)
class Comparisons:
    """Vote i compared ``left[i]`` (shown first / as A) with ``right[i]``; ``outcome[i]`` is LEFT,
    RIGHT or TIE."""

    left: IntArray
    right: IntArray
    outcome: IntArray
    n_items: int
    items: tuple[str, ...] = field(default=(), repr=False)

    @property
    def n_votes(self) -> int:
        return int(self.left.shape[0])

    @classmethod
    def from_triples(cls, rows: Iterable[tuple[str, str, str]]) -> Comparisons:
        """``(item_a, item_b, winner)`` with winner in a, b, tie (or left, right, tie)."""
        code: dict[str, int] = {}
        left, right, outcome = [], [], []
        for n, (a, b, winner) in enumerate(rows, start=1):
            if winner not in OUTCOMES:
                raise Invalid(f"vote {n}: winner must be a, b or tie, not {winner!r}", field="winner")
            if a == b:
                raise Invalid(f"vote {n}: {a!r} is compared with itself", field="item")
            left.append(code.setdefault(a, len(code)))
            right.append(code.setdefault(b, len(code)))
            outcome.append(OUTCOMES[winner])
        return cls.from_codes(left, right, outcome, items=list(code))

    @classmethod
    def from_codes(
        cls,
        left: Sequence[int] | IntArray,
        right: Sequence[int] | IntArray,
        outcome: Sequence[int] | IntArray,
        *,
        n_items: int | None = None,
        items: Sequence[str] = (),
    ) -> Comparisons:
        lf, rt, oc = (np.asarray(x, dtype=np.int64).ravel() for x in (left, right, outcome))
        if not (lf.shape == rt.shape == oc.shape):
            raise Invalid("left, right and outcome must have the same length", field="votes")
        if oc.size and (oc.min() < 0 or oc.max() > 2):
            raise Invalid("outcome must be 0 (left wins), 1 (right wins) or 2 (tie)", field="outcome")
        needed = int(max(lf.max(initial=-1), rt.max(initial=-1))) + 1
        n = max(needed, len(items)) if n_items is None else n_items
        if n < needed or (lf.size and min(lf.min(), rt.min()) < 0):
            raise Invalid("item codes out of range", field="item")
        return cls(lf, rt, oc, n, tuple(items))

    def counts(self) -> tuple[FloatArray, FloatArray]:
        """``wins[i, j]`` = votes where i beat j (either side); ``ties[i, j]`` = ties between i and j
        (symmetric)."""
        n = self.n_items
        winner = np.where(self.outcome == RIGHT, self.right, self.left)
        loser = np.where(self.outcome == RIGHT, self.left, self.right)
        decided = self.outcome != TIE
        wins = np.bincount(winner[decided] * n + loser[decided], minlength=n * n).reshape(n, n)
        tied = ~decided
        ties = np.bincount(self.left[tied] * n + self.right[tied], minlength=n * n).reshape(n, n)
        return wins.astype(np.float64), (ties + ties.T).astype(np.float64)


def pairs_from_ranking(ranking: Sequence[int | Sequence[int]]) -> list[tuple[int, int, int]]:
    """A k-way ranking, best first, as (left, right, outcome) votes: every earlier entry beats
    every later one; an entry that is a group of items is a tie among them (k(k-1)/2 pairs).

    Pairs from one ranking are not independent votes: weight or bootstrap by ranking if that matters."""
    groups = [[g] if isinstance(g, int | np.integer) else list(g) for g in ranking]
    votes: list[tuple[int, int, int]] = []
    for gi, group in enumerate(groups):
        for x in range(len(group)):
            for y in range(x + 1, len(group)):
                votes.append((group[x], group[y], TIE))
        for later in groups[gi + 1 :]:
            votes.extend((a, b, LEFT) for a in group for b in later)
    return votes


@dataclass(frozen=True)
class WithinPairs:
    """The position effect within pairs shown in both orders: among two equally good items, the
    chance that the one shown first wins (ties set aside), with its interval; ``pairs`` and
    ``votes``: the pairs shown both ways and their decided votes."""

    left_rate: float
    low: float
    high: float
    pairs: int
    votes: int


@dataclass(frozen=True)
class PositionBias:
    """How often the item shown first (A / left) wins, over the decided votes; ``within_pairs``:
    the same net of the items' strengths (None when no pair was shown in both orders)."""

    left_wins: int
    right_wins: int
    ties: int
    left_rate: float
    low: float
    high: float
    p_value: float
    within_pairs: WithinPairs | None = None


def position_bias(votes: Comparisons, *, confidence: float = 0.95) -> PositionBias:
    """Left win rate among decided votes, its Wilson interval and a two-sided binomial test
    against 1/2 (no bias). Only meaningful when each pair is shown in both orders about equally."""
    left = int((votes.outcome == LEFT).sum())
    right = int((votes.outcome == RIGHT).sum())
    ties = int((votes.outcome == TIE).sum())
    decided = left + right
    if decided == 0:
        return PositionBias(0, 0, ties, 0.5, 0.0, 1.0, 1.0)
    test = stats.binomtest(left, decided, 0.5)
    ci = test.proportion_ci(confidence_level=confidence, method="wilson")
    within = within_pairs(votes, confidence=confidence)
    return PositionBias(
        left, right, ties, left / decided, float(ci.low), float(ci.high), float(test.pvalue), within
    )


def within_pairs(votes: Comparisons, *, confidence: float = 0.95) -> WithinPairs | None:
    """The left-hand advantage net of the items' strengths, from the pairs shown in both orders.

    The raw left share mixes the position with the items: a model always shown first wins as
    often as it is better. Within a pair {i, j}, Bradley-Terry with an order effect g (Davidson
    and Beaver 1977) makes the odds of i winning g^2 times higher when i is shown first than
    when j is, whatever i and j are; the Mantel-Haenszel estimate of that common odds ratio over
    the pairs gives g, its Robins-Breslow-Greenland variance the interval, and among equals the
    first shown wins g / (1 + g). None when no pair was shown both ways; when the ratio is 0 or
    infinite (the first shown always or never won in those pairs), half a vote is added to each
    cell (Haldane)."""
    decided = votes.outcome != TIE
    lo = np.minimum(votes.left, votes.right)[decided]
    hi = np.maximum(votes.left, votes.right)[decided]
    low_left = (votes.left == np.minimum(votes.left, votes.right))[decided]
    left_won = (votes.outcome == LEFT)[decided]
    pair = lo * votes.n_items + hi
    # per unordered pair, whether its lower code won by orientation: a, b = it won, lost when
    # shown first; c, d = it won, lost when shown second (the odds ratio is a d / b c)
    keys, index = np.unique(pair, return_inverse=True)
    cells = np.zeros((keys.size, 4))
    np.add.at(cells, (index, np.where(low_left, np.where(left_won, 0, 1), np.where(left_won, 3, 2))), 1.0)
    a, b, c, d = cells.T
    both = (a + b > 0) & (c + d > 0)
    if not both.any():
        return None
    a, b, c, d = a[both], b[both], c[both], d[both]
    votes_used = int((a + b + c + d).sum())
    if (a * d).sum() == 0 or (b * c).sum() == 0:
        # the first shown always (or never) won where it could have lost: an infinite ratio;
        # half a vote in each cell (Haldane) gives a finite one with a wide interval
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    n = a + b + c + d
    r, s_ = a * d / n, b * c / n  # left-wins products (a, d) over right-wins products (b, c)
    p, q = (a + d) / n, (b + c) / n
    sr, ss = r.sum(), s_.sum()
    var = (p * r).sum() / (2 * sr**2) + (p * s_ + q * r).sum() / (2 * sr * ss) + (q * s_).sum() / (2 * ss**2)
    log_g, sd = 0.5 * np.log(sr / ss), 0.5 * np.sqrt(var)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return WithinPairs(
        float(special.expit(log_g)),
        float(special.expit(log_g - z * sd)),
        float(special.expit(log_g + z * sd)),
        int(both.sum()),
        votes_used,
    )
