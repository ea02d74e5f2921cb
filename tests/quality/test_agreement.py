"""Agreement measures against published worked examples, hand-made cases and edge cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from labelhouse.core.errors import Invalid
from labelhouse.quality.agreement import (
    code_ratings,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_table,
    krippendorff_alpha,
    pairwise,
    per_label,
    percent_agreement,
    rows_from_matrix,
)

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders x 12
# units with missing values. Published: nominal 0.743, interval 0.849, ratio 0.797.
KRIPPENDORFF = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]  # fmt: skip

# Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories; kappa 0.210.
FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]  # fmt: skip


def fleiss_rows(table: list[list[int]]) -> list[tuple[int, int, int]]:
    rows = []
    for item, counts in enumerate(table):
        rater = 0
        for category, n in enumerate(counts):
            for _ in range(n):
                rows.append((item, rater, category))
                rater += 1
    return rows


def cohen_rows() -> list[tuple[int, str, str]]:
    """Wikipedia's Cohen example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15; kappa 0.4."""
    rows = []
    item = 0
    for a, b, n in (("yes", "yes", 20), ("yes", "no", 5), ("no", "yes", 10), ("no", "no", 15)):
        for _ in range(n):
            rows += [(item, "A", a), (item, "B", b)]
            item += 1
    return rows


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_worked_example(level: str, published: float) -> None:
    assert krippendorff_alpha(rows_from_matrix(KRIPPENDORFF), level) == pytest.approx(published, abs=5e-4)  # type: ignore[arg-type]


def test_krippendorff_nominal_exact_fraction() -> None:
    # pins the full-precision value of the vectorized coincidence computation (0.743 in the paper)
    alpha = krippendorff_alpha(rows_from_matrix(KRIPPENDORFF))
    assert alpha == pytest.approx(0.743421052631579, abs=1e-12)


def test_fleiss_wikipedia_example() -> None:
    assert fleiss_kappa_table(FLEISS) == pytest.approx(0.210, abs=5e-4)
    assert fleiss_kappa(fleiss_rows(FLEISS)) == pytest.approx(fleiss_kappa_table(FLEISS), abs=1e-12)


def test_fleiss_variable_raters_averages_items_with_pairs() -> None:
    rows = [
        ("i1", "a", "x"), ("i1", "b", "x"), ("i1", "c", "y"),  # P = 1/3
        ("i2", "a", "y"), ("i2", "b", "y"),  # P = 1
        ("i3", "a", "x"),  # single rating: dropped
    ]  # fmt: skip
    p_bar = (1 / 3 + 1) / 2
    shares = np.array([2, 3]) / 5  # x, y over the kept items
    chance = float(shares @ shares)
    assert fleiss_kappa(rows) == pytest.approx((p_bar - chance) / (1 - chance))


def test_cohen_wikipedia_example() -> None:
    rows = cohen_rows()
    assert cohen_kappa(rows) == pytest.approx(0.4)
    assert percent_agreement(rows) == pytest.approx(0.7)


def test_cohen_uses_only_items_both_rated_and_needs_two_raters() -> None:
    rows = cohen_rows() + [(999, "A", "yes"), (1000, "C", "no")]
    assert cohen_kappa(rows, raters=("A", "B")) == pytest.approx(0.4)
    with pytest.raises(Invalid):
        cohen_kappa(rows)
    with pytest.raises(Invalid):
        cohen_kappa(rows, raters=("A", "Z"))


def test_perfect_and_chance_and_systematic_disagreement() -> None:
    same = [(i, r, i % 2) for i in range(6) for r in ("a", "b")]
    assert cohen_kappa(same) == 1.0
    assert krippendorff_alpha(same) == pytest.approx(1.0)
    assert fleiss_kappa(same) == pytest.approx(1.0)
    opposite = [(i, "a", i % 2) for i in range(6)] + [(i, "b", 1 - i % 2) for i in range(6)]
    assert cohen_kappa(opposite) == pytest.approx(-1.0)
    assert percent_agreement(opposite) == 0.0
    assert krippendorff_alpha(opposite) < 0


def test_undefined_measures_are_nan() -> None:
    all_same = [(i, r, "x") for i in range(3) for r in ("a", "b")]
    assert math.isnan(cohen_kappa(all_same))
    assert math.isnan(fleiss_kappa(all_same))
    assert math.isnan(krippendorff_alpha(all_same))
    assert percent_agreement(all_same) == 1.0
    singles = [(0, "a", "x"), (1, "b", "y")]
    assert math.isnan(krippendorff_alpha(singles))
    assert math.isnan(percent_agreement(singles))
    assert math.isnan(fleiss_kappa([]))
    assert math.isnan(krippendorff_alpha([]))


def test_missing_values_and_reratings() -> None:
    coded = code_ratings(
        [(1, "a", "x"), (1, "b", None), (1, "a", "y"), (2, "b", float("nan")), (2, "a", "z")]
    )
    assert coded.values == ("y", "z")  # a's re-rating of item 1 replaced "x"; b rated nothing
    assert len(coded.item) == 2
    # a None re-rating withdraws an earlier one
    assert len(code_ratings([(1, "a", "x"), (1, "a", None)]).item) == 0


def test_array_input_is_the_same_as_tuples() -> None:
    rows = rows_from_matrix(np.array(KRIPPENDORFF, dtype=float))
    assert krippendorff_alpha(rows) == pytest.approx(0.743, abs=5e-4)
    arr = np.array([(i, r, v) for i, r, v in rows_from_matrix(KRIPPENDORFF)], dtype=float)
    assert krippendorff_alpha(arr, "interval") == pytest.approx(0.849, abs=5e-4)  # type: ignore[arg-type]


def test_interval_needs_numbers_and_level_is_checked() -> None:
    with pytest.raises(Invalid):
        krippendorff_alpha([(0, "a", "x"), (0, "b", "y")], "interval")
    with pytest.raises(Invalid):
        krippendorff_alpha([(0, "a", 1), (0, "b", 2)], "cardinal")  # type: ignore[arg-type]


def test_ordinal_rewards_near_misses_more_than_nominal() -> None:
    near = [(i, "a", i % 5) for i in range(10)] + [(i, "b", min(4, i % 5 + 1)) for i in range(10)]
    assert krippendorff_alpha(near, "ordinal") > krippendorff_alpha(near, "nominal")
    assert krippendorff_alpha(near, "interval") > krippendorff_alpha(near, "nominal")


def test_per_label_one_vs_rest() -> None:
    rows = [
        (0, "a", "cat"), (0, "b", "cat"),
        (1, "a", "dog"), (1, "b", "dog"),
        (2, "a", "cat"), (2, "b", "bird"),
        (3, "a", "bird"), (3, "b", "dog"),
    ]  # fmt: skip
    scores = per_label(rows)
    assert set(scores) == {"bird", "cat", "dog"}
    binary_cat = [(i, r, v == "cat") for i, r, v in rows]
    assert scores["cat"] == pytest.approx(krippendorff_alpha(binary_cat))
    assert scores["dog"] > scores["bird"]
    fleiss = per_label(rows, measure="fleiss")
    assert fleiss["cat"] == pytest.approx(fleiss_kappa(binary_cat))
    with pytest.raises(Invalid):
        per_label(rows, measure="nope")  # type: ignore[arg-type]


def test_per_label_multi_label_values() -> None:
    rows = [
        (0, "a", ["x", "y"]), (0, "b", ["x"]),
        (1, "a", []), (1, "b", ["y"]),
        (2, "a", ["x"]), (2, "b", ["x"]),
    ]  # fmt: skip
    scores = per_label(rows)
    # x: a = (1, 0, 1), b = (1, 0, 1): perfect
    assert scores["x"] == pytest.approx(1.0)
    # y: a = (1, 0, 0), b = (0, 1, 0): worse than chance
    assert scores["y"] < 0


def test_pairwise_matrix_with_counts() -> None:
    rows = [
        (0, "a", "x"), (0, "b", "x"), (0, "c", "y"),
        (1, "a", "y"), (1, "b", "y"), (1, "c", "y"),
        (2, "a", "x"), (2, "b", "y"),
        (3, "c", "x"),
    ]  # fmt: skip
    result = pairwise(rows)
    assert result.raters == ("a", "b", "c")
    np.testing.assert_array_equal(result.counts, [[3, 3, 2], [3, 3, 2], [2, 2, 3]])
    assert result.agreement[0, 1] == pytest.approx(2 / 3)
    assert result.agreement[0, 2] == pytest.approx(1 / 2)
    assert result.agreement[1, 2] == pytest.approx(1 / 2)
    np.testing.assert_allclose(np.diag(result.agreement), 1.0)
    np.testing.assert_allclose(result.agreement, result.agreement.T)


def test_pairwise_kappa_equals_cohen_per_pair() -> None:
    rows = rows_from_matrix(KRIPPENDORFF)
    result = pairwise(rows, measure="kappa")
    for i in range(4):
        for j in range(4):
            if i != j:
                expected = cohen_kappa(rows, raters=(i, j))
                assert result.agreement[i, j] == pytest.approx(expected), (i, j)
    assert result.counts[0, 2] == 8  # coder A and coder C both coded 8 units


def test_pairwise_no_shared_items_is_nan_with_zero_count() -> None:
    result = pairwise([(0, "a", 1), (1, "b", 1)])
    assert result.counts[0, 1] == 0
    assert math.isnan(result.agreement[0, 1])
    with pytest.raises(Invalid):
        pairwise([], measure="nope")  # type: ignore[arg-type]


def test_vectorized_alpha_on_a_larger_random_set_is_finite_and_bounded() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 2000)
    rows = []
    for rater in range(7):
        noisy = np.where(rng.random(2000) < 0.8, truth, rng.integers(0, 4, 2000))
        seen = rng.random(2000) < 0.6
        rows += [(int(i), rater, int(v)) for i, v in zip(np.flatnonzero(seen), noisy[seen], strict=True)]
    alpha = krippendorff_alpha(rows)
    kappa = fleiss_kappa(rows)
    assert 0.6 < alpha < 0.8
    assert alpha == pytest.approx(kappa, abs=0.02)  # the two agree closely on large samples


# Cross-checks against the reference packages, when they are installed (tests only, never a
# product dependency).


def test_cross_check_krippendorff_package() -> None:
    kd = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(1)
    data = rng.integers(1, 6, size=(5, 40)).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan
    data[:2, :20] = data[2, :20]  # some agreement
    rows = rows_from_matrix(data)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        ours = krippendorff_alpha(rows, level)  # type: ignore[arg-type]
        theirs = kd.alpha(reliability_data=data, level_of_measurement=level)
        assert ours == pytest.approx(theirs, abs=1e-9), level
    for level in ("nominal", "ordinal", "interval", "ratio"):
        theirs = kd.alpha(reliability_data=np.array(KRIPPENDORFF, dtype=float), level_of_measurement=level)
        ours = krippendorff_alpha(rows_from_matrix(KRIPPENDORFF), level)  # type: ignore[arg-type]
        assert ours == pytest.approx(theirs, abs=1e-9), level


def test_cross_check_statsmodels() -> None:
    pytest.importorskip("statsmodels")
    from statsmodels.stats.inter_rater import cohens_kappa
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    assert fleiss_kappa_table(FLEISS) == pytest.approx(sm_fleiss(np.array(FLEISS)), abs=1e-12)
    rng = np.random.default_rng(2)
    a = rng.integers(0, 3, 200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 3, 200))
    table = np.zeros((3, 3))
    np.add.at(table, (a, b), 1)
    rows = [(i, "a", int(x)) for i, x in enumerate(a)] + [(i, "b", int(y)) for i, y in enumerate(b)]
    assert cohen_kappa(rows) == pytest.approx(cohens_kappa(table).kappa, abs=1e-12)


def test_coded_once_gives_what_the_rows_give() -> None:
    """The report codes the rows once and scores every measure from the codes; each must equal
    the measure over the rows (one-vs-rest per label from the counts, not by re-coding)."""
    from labelhouse.quality.agreement import code_ratings, pairwise, per_label, percent_agreement

    rng = np.random.default_rng(3)
    rows: list[tuple[int, str, object]] = []
    for item in range(300):
        truth = int(rng.integers(0, 4))
        for rater in rng.choice(12, size=int(rng.integers(1, 6)), replace=False):
            value: object = truth if rng.random() < 0.7 else int(rng.integers(0, 4))
            rows.append((item, f"r{rater}", None if rng.random() < 0.05 else f"L{value}"))
    rows.append((0, "r0", "L9"))  # a re-rating: the last one wins on both paths
    coded = code_ratings(rows)
    for measure in ("alpha", "fleiss"):
        ours, theirs = per_label(coded, measure), per_label(rows, measure)  # type: ignore[arg-type]
        assert list(ours) == list(theirs)
        for label in ours:
            assert ours[label] == pytest.approx(theirs[label], abs=1e-12, nan_ok=True), (measure, label)
    assert krippendorff_alpha(coded) == pytest.approx(krippendorff_alpha(rows), abs=1e-12)
    assert fleiss_kappa(coded) == pytest.approx(fleiss_kappa(rows), abs=1e-12)
    assert percent_agreement(coded) == pytest.approx(percent_agreement(rows), abs=1e-12)
    for measure in ("percent", "kappa"):
        a, b = pairwise(coded, measure), pairwise(rows, measure)  # type: ignore[arg-type]
        assert a.raters == b.raters and (a.counts == b.counts).all()
        assert np.allclose(a.agreement, b.agreement, equal_nan=True)
    # a label only one rating has: one-vs-rest is undefined or near it on both paths alike
    assert "L9" in per_label(coded, "alpha")


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_nan_in_a_narrow_float_array_is_missing(dtype: type) -> None:
    """A float32 NaN is not a Python float: it was kept as a value of its own (every NaN a new
    one), so missing ratings counted as disagreements."""
    wide = np.array(
        [[0, 0, 1], [0, 1, np.nan], [1, 0, 2], [1, 1, 2], [2, 0, np.nan], [2, 1, 3], [3, 0, 1], [3, 1, 1]]
    )
    narrow = wide.astype(dtype)
    assert code_ratings(narrow).values == (1.0, 2.0, 3.0)  # type: ignore[arg-type]
    for level in ("nominal", "ordinal", "interval"):
        assert krippendorff_alpha(narrow, level) == pytest.approx(krippendorff_alpha(wide, level))  # type: ignore[arg-type]
    assert percent_agreement(narrow) == percent_agreement(wide) == 1.0  # type: ignore[arg-type]


def test_cross_check_krippendorff_package_on_edge_cases() -> None:
    """Random small data (one to five raters, one to eleven items, missing ratings, codes with
    gaps, ordinal with unused categories in the package's domain): equal, or undefined on both
    sides (we return NaN where the package refuses: no pairable item, one value everywhere)."""
    kd = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(4)
    for _ in range(300):
        n_raters, n_items, k = int(rng.integers(1, 6)), int(rng.integers(1, 12)), int(rng.integers(1, 5))
        data = rng.integers(0, k, size=(n_raters, n_items)).astype(float) * 3 + 1
        data[rng.random(data.shape) < rng.random() * 0.6] = np.nan
        rows = rows_from_matrix(data)
        for level in ("nominal", "ordinal", "interval", "ratio"):
            ours = krippendorff_alpha(rows, level)  # type: ignore[arg-type]
            domain = np.arange(1, 3 * k + 2, dtype=float) if level == "ordinal" else None
            try:
                with np.errstate(invalid="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # the package's own 0/0
                    theirs = kd.alpha(reliability_data=data, level_of_measurement=level, value_domain=domain)
            except ValueError:
                theirs = math.nan
            assert ours == pytest.approx(theirs, abs=1e-9, nan_ok=True), (level, data.tolist())


def test_cross_check_statsmodels_cohen_and_fleiss_on_small_random_data() -> None:
    pytest.importorskip("statsmodels")
    from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    rng = np.random.default_rng(6)
    for _ in range(300):
        n_raters, n_items, k = int(rng.integers(2, 6)), int(rng.integers(1, 12)), int(rng.integers(1, 4))
        data = rng.integers(0, k, size=(n_raters, n_items))
        rows = rows_from_matrix(data)
        with np.errstate(divide="ignore", invalid="ignore"):
            table, _ = aggregate_raters(data.T)
            theirs = float(sm_fleiss(table))
            pair = np.zeros((k, k))
            np.add.at(pair, (data[0], data[1]), 1)
            their_cohen = float(cohens_kappa(pair).kappa)  # NaN where chance agreement is 1
        assert fleiss_kappa(rows) == pytest.approx(theirs, abs=1e-12, nan_ok=True), data.tolist()
        assert cohen_kappa(rows, raters=(0, 1)) == pytest.approx(their_cohen, abs=1e-12, nan_ok=True), (
            data.tolist()
        )
