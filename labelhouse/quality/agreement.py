"""Inter-annotator agreement over ``(item, rater, value)`` rows: kappas, Krippendorff's alpha, percent.

Every measure takes the same input, an iterable of ``(item, rater, value)`` triples (a list of
tuples, or an ``(n, 3)`` array). ``None`` or NaN as a value means "not rated" and the row is
skipped; when a rater rated an item twice, the last row wins (an edit replaces an answer). Values
must be hashable; ordinal and interval levels also need them ordered or numeric.

A measure that is undefined on its data (no item with two ratings, or every rating the same value,
so chance agreement is already perfect) returns NaN rather than a made-up number.

- :func:`percent_agreement`: the share of agreeing pairs of ratings on the same item.
- :func:`cohen_kappa`: two raters, over the items both rated.
- :func:`fleiss_kappa`: any number of raters per item (see its docstring for unequal numbers).
- :func:`krippendorff_alpha`: nominal, ordinal, interval or ratio data, missing ratings allowed.
- :func:`per_label`: one-vs-rest alpha (or Fleiss' kappa) for each label.
- :func:`pairwise`: a raters x raters matrix of percent agreement or Cohen's kappa, with counts.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from labelhouse.core.errors import Invalid

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
Row = tuple[Hashable, Hashable, Any]
Level = Literal["nominal", "ordinal", "interval", "ratio"]

__all__ = [
    "Coded",
    "Pairwise",
    "code_ratings",
    "cohen_kappa",
    "fleiss_kappa",
    "fleiss_kappa_table",
    "krippendorff_alpha",
    "pairwise",
    "per_label",
    "percent_agreement",
    "rows_from_matrix",
]


def _missing(value: Any) -> bool:
    # np.float32/np.float16 are not Python floats: their NaN was taken for a value of its own
    value = _plain(value)
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class Coded:
    """Ratings as integer codes into ``items``, ``raters`` and ``values`` (one row per rating)."""

    item: IntArray
    rater: IntArray
    value: IntArray
    items: tuple[Hashable, ...]
    raters: tuple[Hashable, ...]
    values: tuple[Any, ...]

    def counts(self) -> sparse.csr_matrix:
        """(items x values) number of ratings of each value on each item."""
        ones = np.ones(self.item.shape[0], dtype=np.float64)
        shape = (len(self.items), len(self.values))
        return sparse.csr_matrix((ones, (self.item, self.value)), shape=shape)


def code_ratings(rows: Iterable[Row]) -> Coded:
    """Code the rows; values are sorted when they can be, else kept in order of first appearance."""
    last: dict[tuple[Hashable, Hashable], Any] = {}
    for row in rows:
        if len(row) != 3:
            raise Invalid(f"each rating is (item, rater, value), got {row!r}", field="ratings")
        item, rater, value = row
        key = (_plain(item), _plain(rater))
        last.pop(key, None)  # re-inserting moves a re-rating to the end, as if rated last
        if not _missing(value):
            last[key] = _plain(value)
    item_code: dict[Hashable, int] = {}
    rater_code: dict[Hashable, int] = {}
    seen: dict[Any, int] = {}
    for (item, rater), value in last.items():
        item_code.setdefault(item, len(item_code))
        rater_code.setdefault(rater, len(rater_code))
        seen.setdefault(value, len(seen))
    try:
        values = sorted(seen)
    except TypeError:
        values = list(seen)
    code = {v: i for i, v in enumerate(values)}
    n = len(last)
    return Coded(
        np.fromiter((item_code[i] for i, _ in last), dtype=np.int64, count=n),
        np.fromiter((rater_code[r] for _, r in last), dtype=np.int64, count=n),
        np.fromiter((code[v] for v in last.values()), dtype=np.int64, count=n),
        tuple(item_code),
        tuple(rater_code),
        tuple(values),
    )


def _plain(value: Any) -> Any:
    # numpy scalars (rows of an array) become Python values so 1 and np.int64(1) are one value
    return value.item() if isinstance(value, np.generic) else value


def rows_from_matrix(matrix: Sequence[Sequence[Any]] | NDArray[Any]) -> list[Row]:
    """Reliability data as Krippendorff prints it, raters x items (None or NaN when missing)."""
    return [
        (item, rater, value)
        for rater, ratings in enumerate(matrix)
        for item, value in enumerate(ratings)
        if not _missing(_plain(value))
    ]


def percent_agreement(rows: Iterable[Row] | Coded) -> float:
    """The share of agreeing pairs among all pairs of ratings of the same item.

    Pooled over items, so an item with more raters weighs more (it has more pairs).
    """
    n_iv = _coded(rows).counts()
    m = np.asarray(n_iv.sum(axis=1)).ravel()
    pairs = float((m * (m - 1)).sum())
    if pairs == 0:
        return math.nan
    agreeing = float(n_iv.multiply(n_iv).sum() - m.sum())
    return agreeing / pairs


def cohen_kappa(rows: Iterable[Row], raters: tuple[Hashable, Hashable] | None = None) -> float:
    """Cohen's kappa of two raters over the items both rated.

    Without ``raters`` the rows must hold exactly two raters.
    """
    coded = code_ratings(rows)
    if raters is None:
        if len(coded.raters) != 2:
            raise Invalid(
                f"Cohen's kappa compares two raters, the ratings have {len(coded.raters)}; "
                "name the two with raters=(a, b), or use fleiss_kappa or krippendorff_alpha",
                field="raters",
            )
        raters = (coded.raters[0], coded.raters[1])
    known = {r: i for i, r in enumerate(coded.raters)}
    unknown = [r for r in raters if r not in known]
    if unknown:
        raise Invalid(f"rater {unknown[0]!r} has no ratings", field="raters")
    k = len(coded.values)
    by_item = np.full((2, len(coded.items)), -1, dtype=np.int64)
    for side, rater in enumerate(raters):
        mine = coded.rater == known[rater]
        by_item[side, coded.item[mine]] = coded.value[mine]
    both = (by_item >= 0).all(axis=0)
    a, b = by_item[0, both], by_item[1, both]
    table = np.bincount(a * k + b, minlength=k * k).reshape(k, k).astype(np.float64)
    return _kappa(table)


def _kappa(table: FloatArray) -> float:
    n = table.sum()
    if n == 0:
        return math.nan
    observed = np.trace(table) / n
    chance = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    return math.nan if chance >= 1 else float((observed - chance) / (1 - chance))


def fleiss_kappa(rows: Iterable[Row] | Coded) -> float:
    """Fleiss' kappa of any number of raters (raters need not be the same people on each item).

    With unequal numbers of raters per item, items rated once are dropped (they hold no pair),
    each remaining item's agreement ``P_i`` is the share of agreeing pairs among *its* raters, ``P``
    is their unweighted mean, and the chance agreement uses the category shares of all ratings of
    the kept items. With the same number of raters everywhere this is exactly Fleiss (1971). For
    data with many missing ratings prefer :func:`krippendorff_alpha`, which was made for it.
    """
    return fleiss_kappa_table(_coded(rows).counts().toarray())


def fleiss_kappa_table(counts: NDArray[Any] | Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa from an (items x categories) table of how many raters chose each category."""
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2:
        raise Invalid("expected an items x categories table of counts", field="counts")
    n_i = table.sum(axis=1)
    table, n_i = table[n_i >= 2], n_i[n_i >= 2]
    if table.shape[0] == 0:
        return math.nan
    p_i = ((table * table).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    shares = table.sum(axis=0) / n_i.sum()
    chance = float(shares @ shares)
    return math.nan if chance >= 1 else float((p_i.mean() - chance) / (1 - chance))


def krippendorff_alpha(rows: Iterable[Row] | Coded, level: Level = "nominal") -> float:
    """Krippendorff's alpha, ``1 - D_o / D_e``, from the coincidence matrix (Krippendorff 2011).

    Items with fewer than two ratings are not pairable and are left out. ``ordinal`` ranks the
    values in their sorted order; ``interval`` and ``ratio`` need numbers.
    """
    coded = _coded(rows)
    return _alpha(coded.counts(), coded.values, level)


def _alpha(n_iv: sparse.csr_matrix, values: tuple[Any, ...], level: Level) -> float:
    m = np.asarray(n_iv.sum(axis=1)).ravel()
    pairable = m >= 2
    if not pairable.any():
        return math.nan
    n_iv, m = n_iv[pairable], m[pairable]
    scaled = sparse.diags(1.0 / (m - 1)) @ n_iv
    # o_ck = sum_u n_uc n_uk / (m_u - 1), minus each rating paired with itself on the diagonal
    coincidence = (n_iv.T @ scaled).toarray() - np.diag(np.asarray(scaled.sum(axis=0)).ravel())
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    d2 = _distances(level, values, n_c)
    expected = float((np.outer(n_c, n_c) * d2).sum())
    if expected == 0:
        return math.nan
    return float(1.0 - (n - 1) * float((coincidence * d2).sum()) / expected)


def _distances(level: Level, values: tuple[Any, ...], n_c: FloatArray) -> FloatArray:
    """The squared difference function delta^2 between every two values."""
    k = len(values)
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "ordinal":
        cum = np.cumsum(n_c)
        idx = np.arange(k)
        lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        between = cum[hi] - cum[lo] + n_c[lo]
        return np.asarray((between - (n_c[lo] + n_c[hi]) / 2) ** 2, dtype=np.float64)
    if level not in ("interval", "ratio"):
        raise Invalid(f"level is {level!r}; use nominal, ordinal, interval or ratio", field="level")
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise Invalid(f"{level} alpha needs numeric values", field="level") from None
    diff = np.subtract.outer(v, v)
    if level == "interval":
        return np.asarray(diff**2, dtype=np.float64)
    total = np.add.outer(v, v)
    ratio = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0)
    return np.asarray(ratio**2, dtype=np.float64)


def per_label(rows: Iterable[Row] | Coded, measure: Literal["alpha", "fleiss"] = "alpha") -> dict[Any, float]:
    """One-vs-rest agreement for each label: each rating becomes "has this label or not".

    A value that is a list, tuple or set (a multiple-choice answer) has every label in it, so
    multi-label data works as is. ``measure`` is nominal Krippendorff's alpha (missing ratings
    allowed) or Fleiss' kappa. Already coded single-label ratings (``code_ratings``) are scored
    from their counts, without coding the rows again per label.
    """
    if isinstance(rows, Coded):
        if not any(isinstance(v, list | tuple | set | frozenset) for v in rows.values):
            return _per_label_coded(rows, measure)
        c = rows  # tuple values (several labels each): expand them as the rows path does
        rows = [
            (c.items[i], c.raters[r], c.values[v]) for i, r, v in zip(c.item, c.rater, c.value, strict=True)
        ]
    kept = [(item, rater, value) for item, rater, value in rows if not _missing(_plain(value))]
    sets = [_label_set(value) for _, _, value in kept]
    labels: dict[Any, None] = {}
    for s in sets:
        labels.update(dict.fromkeys(s))
    try:
        ordered = sorted(labels)
    except TypeError:
        ordered = list(labels)
    if measure not in ("alpha", "fleiss"):
        raise Invalid(f"measure is {measure!r}; use alpha or fleiss", field="measure")
    score = krippendorff_alpha if measure == "alpha" else fleiss_kappa
    return {
        label: score([(item, rater, label in s) for (item, rater, _), s in zip(kept, sets, strict=True)])
        for label in ordered
    }


def _per_label_coded(coded: Coded, measure: str) -> dict[Any, float]:
    if measure not in ("alpha", "fleiss"):
        raise Invalid(f"measure is {measure!r}; use alpha or fleiss", field="measure")
    n_iv = coded.counts().tocsc()
    m = np.asarray(n_iv.sum(axis=1)).ravel()
    out: dict[Any, float] = {}
    for v, label in enumerate(coded.values):
        has = np.asarray(n_iv[:, v].toarray()).ravel()
        # items x (without the label, with it): the one-vs-rest ratings' counts, as coding the
        # (item, rater, label in value) rows would give them
        table = np.column_stack([m - has, has])
        if measure == "alpha":
            out[label] = _alpha(sparse.csr_matrix(table), (False, True), "nominal")
        else:
            out[label] = fleiss_kappa_table(table)
    return out


def _coded(rows: Iterable[Row] | Coded) -> Coded:
    return rows if isinstance(rows, Coded) else code_ratings(rows)


def _label_set(value: Any) -> frozenset[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(_plain(v) for v in value)
    return frozenset([_plain(value)])


@dataclass(frozen=True)
class Pairwise:
    """Agreement of every two raters over the items both rated.

    ``agreement[i, j]`` (NaN when they share no item, or kappa is undefined) and ``counts[i, j]``,
    the number of items both rated; the diagonal is each rater with themself.
    """

    raters: tuple[Hashable, ...]
    agreement: FloatArray
    counts: IntArray
    measure: str


def pairwise(rows: Iterable[Row] | Coded, measure: Literal["percent", "kappa"] = "percent") -> Pairwise:
    """Percent agreement or Cohen's kappa of each pair of raters, with the number of shared items."""
    if measure not in ("percent", "kappa"):
        raise Invalid(f"measure is {measure!r}; use percent or kappa", field="measure")
    coded = _coded(rows)
    n_raters, n_items, k = len(coded.raters), len(coded.items), len(coded.values)
    ones = np.ones(coded.item.shape[0], dtype=np.float64)
    rated = sparse.csr_matrix((ones, (coded.rater, coded.item)), shape=(n_raters, n_items))
    counts = np.rint((rated @ rated.T).toarray()).astype(np.int64)
    # one column per (item, value): two raters share a column exactly when they agree on an item
    said = sparse.csr_matrix(
        (ones, (coded.rater, coded.item * k + coded.value)), shape=(n_raters, n_items * max(k, 1))
    )
    observed = _share((said @ said.T).toarray(), counts)
    if measure == "percent":
        return Pairwise(coded.raters, observed, counts, measure)
    chance = np.zeros((n_raters, n_raters))
    for v in range(k):
        mine = coded.value == v
        gave = sparse.csr_matrix(
            (ones[mine], (coded.rater[mine], coded.item[mine])), shape=(n_raters, n_items)
        )
        # shared[r, s]: items r rated v among those s rated too
        shared = (gave @ rated.T).toarray()
        chance += shared * shared.T
    chance = _share(chance, counts**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(chance < 1, (observed - chance) / (1 - chance), np.nan)
    return Pairwise(coded.raters, kappa, counts, measure)


def _share(numerator: FloatArray, denominator: NDArray[Any]) -> FloatArray:
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out
