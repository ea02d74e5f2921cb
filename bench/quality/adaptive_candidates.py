"""Candidate stop rules for adaptive overlap, replayed fast (the exploration behind the default).

    python bench/quality/adaptive_candidates.py '[{"stop": "both", "target": 0.95}]' 5
    python bench/quality/adaptive_candidates.py '[{"stop": "posterior", "target": 0.99, "shrink": 10}]' 3

A pure-Python copy of ``adaptive.py``'s replay (no numpy consensus per draw, so about three times
faster) with the knobs the product does not have: each JSON object is one candidate, the second
argument the number of seeds. ``max_labels`` is each item's own number of answers. Knobs
(defaults in brackets):

* ``stop`` ["both"]: "posterior" (the one-coin posterior >= target), "predictive"
  (``leader_holds`` of the votes >= target), "both" (predictive >= target and posterior >=
  ``guard``, default the target: the product's rule), "agree" (posterior >= target and the
  weighted winner is the unweighted leader);
* ``target`` [0.95], ``guard`` [None], ``min_labels`` [2], ``prior`` [1.0] (vote shares' Dirichlet);
* ``votes`` ["weighted"]: the predictive's counts, "weighted" (``effective_counts``) or "plain";
* ``label`` ["weighted"]: the stored label, the weighted posterior's winner or the "majority";
* ``shrink`` [4.0]: pseudo-answers of the records' prior (1e9: everybody at 0.7);
* ``class_prior`` [false]: the posterior's class prior from the labels stored so far;
* ``two_coin`` [false]: class-conditional records (an annotator's accuracy when the truth is each
  class, credited with the posterior of each class), the posterior and the weights from them.

Prints per candidate the datasets that reach majority vote over all answers with at most half of
them (mean over seeds) and, per dataset, share of answers used / accuracy minus the bar (worst
seed in brackets).
"""

from __future__ import annotations

import json
import math
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adaptive import accuracy, eligible, mv_all, prepare  # noqa: E402

from labelhouse.quality.policy import effective_counts, leader_holds  # noqa: E402

ASSUMED = 0.7


def posterior(
    labels: list[str], options: list[str], accs: list[float], stored: Counter[str] | None
) -> tuple[str, float, dict[str, float]]:
    """The one-coin posterior (as ``policy.choice_distribution``), with a class prior from the
    labels stored so far when ``stored`` is given."""
    k = max(len(options), 2)
    prior = stored or Counter()
    total = sum(prior.values()) + k
    score = {o: math.log((prior[o] + 1) / total) for o in options}
    for label, a in zip(labels, accs, strict=True):
        a = min(max(a, 1e-6), 1 - 1e-6)
        score[label] += math.log(a * (k - 1) / (1 - a))
    top = max(score.values())
    weight = {o: math.exp(v - top) for o, v in score.items()}
    norm = sum(weight.values())
    best = max(options, key=weight.__getitem__)
    return best, weight[best] / norm, {o: w / norm for o, w in weight.items()}


def two_coin(
    taken: list[tuple[str, str]],
    options: list[str],
    rec: dict[str, dict[str, tuple[float, float]]],
    shrink: float,
) -> tuple[str, float, dict[str, float], list[float]]:
    """The posterior under class-conditional accuracies (uniform class prior) and each answer's
    accuracy for the class it chose."""
    k = max(len(options), 2)

    def acc(w: str, c: str) -> float:
        right, n = rec[w].get(c, (0.0, 0.0))
        return min(max((right + shrink * ASSUMED) / (n + shrink), 0.5), 0.99)

    score = dict.fromkeys(options, 0.0)
    for w, lab in taken:
        for c in options:
            a = acc(w, c)
            score[c] += math.log(a) if lab == c else math.log((1 - a) / (k - 1))
    top = max(score.values())
    weight = {o: math.exp(v - top) for o, v in score.items()}
    norm = sum(weight.values())
    best = max(options, key=weight.__getitem__)
    return (
        best,
        weight[best] / norm,
        {o: x / norm for o, x in weight.items()},
        [acc(w, lab) for w, lab in taken],
    )


def replay(
    answers: dict[str, list[tuple[str, str]]], options: list[str], seed: int, c: dict[str, Any]
) -> tuple[int, dict[str, str]]:
    rng = random.Random(seed)
    record: dict[str, tuple[float, int]] = defaultdict(lambda: (0.0, 0))
    rec2: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
    stored: Counter[str] = Counter()
    used, out = 0, {}
    target, guard = c.get("target", 0.95), c.get("guard")
    shrink = c.get("shrink", 4.0)
    items = sorted(answers)
    rng.shuffle(items)
    for item in items:
        order = list(answers[item])
        rng.shuffle(order)
        cap = len(order)
        taken: list[tuple[str, str]] = []
        while True:
            taken.append(order.pop())
            labels = [lab for _w, lab in taken]
            accs = [
                min(max((record[w][0] + shrink * ASSUMED) / (record[w][1] + shrink), 0.5), 0.99)
                for w, _l in taken
            ]
            n = len(taken)
            if not order:
                break
            if n < c.get("min_labels", 2):
                continue
            best, post, _dist = posterior(labels, options, accs, stored if c.get("class_prior") else None)
            if c.get("two_coin"):
                best, post, _dist, accs = two_coin(taken, options, rec2, shrink)
            if c.get("votes", "weighted") == "weighted":
                counts = effective_counts(labels, options, accs, ASSUMED)
            else:
                counts = [float(labels.count(o)) for o in options]
            stop = c.get("stop", "both")
            if stop == "posterior":
                done = post >= target
            elif stop == "predictive":
                done = leader_holds(counts, cap - n, c.get("prior", 1.0)) >= target
            elif stop == "both":
                done = leader_holds(counts, cap - n, c.get("prior", 1.0)) >= target and post >= (
                    guard or target
                )
            else:  # agree
                plain = Counter(labels)
                leaders = [o for o in options if plain[o] == max(plain.values())]
                done = post >= target and leaders == [best]
            if done:
                break
        used += len(taken)
        labels = [lab for _w, lab in taken]
        best, _post, dist = posterior(labels, options, accs, stored if c.get("class_prior") else None)
        if c.get("two_coin"):
            best, _post, dist, accs = two_coin(taken, options, rec2, shrink)
        if c.get("label", "weighted") == "majority":
            plain = Counter(labels)
            best = next(o for o in options if plain[o] == max(plain.values()))
        out[item] = best
        stored[best] += 1
        if len(taken) >= 2:
            for w, lab in taken:
                record[w] = (record[w][0] + dist[lab], record[w][1] + 1)
                for cls in options:
                    right, n = rec2[w].get(cls, (0.0, 0.0))
                    rec2[w][cls] = (right + (dist[cls] if lab == cls else 0.0), n + dist[cls])
    return used, out


def main() -> None:
    candidates = json.loads(sys.argv[1])
    seeds = range(int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    data = {}
    for name in eligible():
        answers, truth, options = prepare(name)
        truth = {i: t for i, t in truth.items() if i in answers}
        total = sum(len(v) for v in answers.values())
        data[name] = (answers, truth, options, accuracy(mv_all(answers, options), truth), total)
    for c in candidates:
        passed, cells = 0, []
        for name, (answers, truth, options, bar, total) in data.items():
            shares, accs = [], []
            for seed in seeds:
                used, labels = replay(answers, options, seed, c)
                shares.append(used / total)
                accs.append(accuracy(labels, truth))
            share, acc = sum(shares) / len(shares), sum(accs) / len(accs)
            ok = acc >= bar - 1e-9 and share <= 0.5
            passed += ok
            cells.append(
                f"{name}:{100 * share:.0f}%/{acc - bar:+.2f}({min(accs) - bar:+.2f}){'' if ok else '!'}"
            )
        print(c, "pass", passed, "|", " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
