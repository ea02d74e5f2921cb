"""Properties every truth-inference method must have, on generated answer sets (hypothesis):
renaming annotators changes nothing, relabeling classes permutes the posteriors, and a perfect
annotator is recovered."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from labelhouse.quality import Answers, get_method, method_names

METHODS = method_names()
# GLAD fits by numerical optimisation (about a second per fit here): fewer examples for it
SLOW = {"glad"}


def examples(method: str) -> settings:
    """Derandomized (the same examples every run, so a failure reproduces), no shrinking (a
    failing example is reported as found), few enough examples to keep the suite fast."""
    return settings(
        max_examples=3 if method in SLOW else 20,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
    )


@st.composite
def answer_sets(draw: st.DrawFn) -> tuple[list[tuple[int, int, int]], int, int]:
    """(task, worker, label) codes, duplicates allowed (the last one counts), and the counts."""
    n_workers = draw(st.integers(2, 6))
    n_classes = draw(st.integers(2, 4))
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, 9), st.integers(0, n_workers - 1), st.integers(0, n_classes - 1)),
            min_size=1,
            max_size=40,
        )
    )
    return rows, n_workers, n_classes


def _posteriors(method: str, triples: list[tuple[str, str, str]]) -> dict[tuple[str, str], float]:
    a = Answers.from_triples(triples)
    r = get_method(method).infer(a, seed=0)
    return {
        (a.tasks[t], a.classes[c]): float(r.posteriors[t, c])
        for t in range(a.n_tasks)
        for c in range(a.n_classes)
    }


def _close(x: dict[tuple[str, str], float], y: dict[tuple[str, str], float]) -> None:
    assert x.keys() == y.keys()
    for key in x:
        assert abs(x[key] - y[key]) < 1e-6, key


@pytest.mark.parametrize("method", METHODS)
def test_renaming_annotators_changes_nothing(method: str) -> None:
    @examples(method)
    @given(data=answer_sets(), rng=st.randoms(use_true_random=False))
    def check(data: tuple[list[tuple[int, int, int]], int, int], rng: random.Random) -> None:
        rows, n_workers, _k = data
        names = [f"w{i}" for i in range(n_workers)]
        renamed = [f"z{n}" for n in rng.sample(names, len(names))]  # new names, new code order
        before = _posteriors(method, [(f"t{t}", names[w], f"c{c}") for t, w, c in rows])
        after = _posteriors(method, [(f"t{t}", renamed[w], f"c{c}") for t, w, c in rows])
        _close(before, after)

    check()


@pytest.mark.parametrize("method", METHODS)
def test_relabeling_classes_permutes_the_posteriors(method: str) -> None:
    @examples(method)
    @given(data=answer_sets(), rng=st.randoms(use_true_random=False))
    def check(data: tuple[list[tuple[int, int, int]], int, int], rng: random.Random) -> None:
        rows, _n, k = data
        order = rng.sample(range(k), k)
        # class c is "c{c}" before and "d{order[c]}" after: the code order changes too
        before = _posteriors(method, [(f"t{t}", f"w{w}", f"c{c}") for t, w, c in rows])
        after = _posteriors(method, [(f"t{t}", f"w{w}", f"d{order[c]}") for t, w, c in rows])
        mapped = {(t, f"d{order[int(c[1:])]}"): p for (t, c), p in before.items()}
        _close(mapped, after)

    check()


@pytest.mark.parametrize("method", METHODS)
def test_a_perfect_annotator_is_recovered(method: str) -> None:
    """One annotator always right, four noisy ones right 70 to 85 % of the time: every method
    ranks the perfect one first (or tied within 0.01), and the models of annotators (all but the vote counts) get at
    least 90 % of the tasks right. (With fewer tasks or noisier annotators no unsupervised
    method can tell who is perfect: the data fit other explanations as well.)

    Twenty fixed draws rather than hypothesis: a generator free to search finds the rare draw where
    a noisy annotator agrees with the truth by luck as often as the perfect one, and which draw it
    found differed between CI runs; fixed seeds make every failure reproduce."""
    for seed in range(3 if method in SLOW else 20):
        rng = random.Random(seed)
        n_tasks, k, accuracy = rng.randint(50, 80), rng.randint(2, 4), rng.uniform(0.7, 0.85)
        truth = [rng.randrange(k) for _ in range(n_tasks)]
        rows = [(f"t{t}", "perfect", f"c{truth[t]}") for t in range(n_tasks)]
        for w in range(4):
            for t in range(n_tasks):
                right = rng.random() < accuracy
                label = truth[t] if right else rng.choice([c for c in range(k) if c != truth[t]])
                rows.append((f"t{t}", f"noisy{w}", f"c{label}"))
        a = Answers.from_triples(rows)
        r = get_method(method).infer(a, seed=0)
        perfect = a.workers.index("perfect")
        others = [i for i in range(a.n_workers) if i != perfect]
        # First, or tied with the best within 0.01 (MACE's competence saturates near 0.95).
        assert r.reliability[perfect] >= r.reliability[others].max() - 0.01, (seed, n_tasks, k, accuracy)
        if method not in ("mv", "wawa"):
            found = [a.classes[c] for c in r.labels]
            want = [f"c{truth[int(t[1:])]}" for t in a.tasks]
            assert np.mean([f == w for f, w in zip(found, want, strict=True)]) >= 0.9, (seed, n_tasks, k)
