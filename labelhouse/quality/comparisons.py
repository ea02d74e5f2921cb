"""Pairwise preference votes as integer-coded arrays; k-way rankings as pairs; position bias."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

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
class PositionBias:
    """How often the item shown first (A / left) wins, over the decided votes."""

    left_wins: int
    right_wins: int
    ties: int
    left_rate: float
    low: float
    high: float
    p_value: float


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
    return PositionBias(left, right, ties, left / decided, float(ci.low), float(ci.high), float(test.pvalue))
