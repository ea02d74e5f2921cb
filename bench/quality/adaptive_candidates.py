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
* ``target`` [0.95], ``guard`` [None], ``min_labels`` [2], ``prior`` [1.0] (vote shares' Dirichlet;
  "learned": the symmetric concentration, from a grid, whose Dirichlet-multinomial likelihood of
  the finished tasks' plain votes is the highest, updated after each task);
* ``votes`` ["weighted"]: the predictive's counts, "weighted" (``effective_counts``) or "plain";
* ``label`` ["plurality"]: the stored label, the weighted posterior's winner among the options
  the most annotators chose (the product's plurality rule: a task stops only when the posterior's
  winner is one of them), the winner overall ("weighted", the rule before 2026-12-07's third
  round) or the "majority";
* ``shrink`` [4.0]: pseudo-answers of the records' prior (1e9: everybody at 0.7);
* ``class_prior`` [false]: the posterior's class prior from the labels stored so far;
* ``class_prior`` "soft": the same from the finished tasks' posteriors (soft counts, the M-step
  of the class prior), ``pseudo`` [1] pseudo-answers per class;
* ``prior_use`` [none]: the soft class prior in the stop rule only, the stored label and the
  records without it: "stop" (the guard is the posterior with the prior), "stop_both" (both
  posteriors must reach the target); ``prior_k2`` [false]: the class prior on two-option data only;
* ``two_coin`` [false]: class-conditional records (an annotator's accuracy when the truth is each
  class, credited with the posterior of each class), the posterior and the weights from them;
  ``hier`` [false]: shrunk towards the annotator's one-coin accuracy instead of the assumed one,
  with ``shrink2`` [``shrink``] pseudo-answers;
* ``select`` [none]: choose the model per project from its own evidence, the prequential
  log-likelihood of every finished task's answers (each given the answers before it, under the
  records as they were), added up over the project, the better model used for the next task:
  "assumed" / "pooled" (weighted records against everybody at the assumed accuracy / at the
  project's pooled accuracy; with ``three`` also two-coin records; with ``evidence`` "dm" the
  Dirichlet-multinomial of the weighted against the plain votes instead), "prior" (weighted
  records with against without the soft class prior); ``force`` fixes the model chosen;
  ``plain_stop`` "predictive": while the unweighted model is chosen, stop on the predictive
  rule alone; ``prefer`` "plain": the unweighted model unless the weighted one's evidence is
  better by ``margin`` [0] nats,
  "weighted": the weighted model unless the unweighted one's is better by ``margin``;
  ``plain_votes`` "raw": while the unweighted model is chosen, the predictive counts each vote
  as one (with "pooled", only the posterior guard uses the pooled accuracy); ``switch`` "label":
  the choice changes only the stored label (the plain majority), the stop rule stays weighted;
  ``evidence`` "agree": score instead, wherever the weighted and the plain leader of a task's
  answers so far differ, which of them the next answer agrees with;
* ``plain_guard`` [none]: also stop only when ``leader_holds`` of the plain (unweighted) counts
  reaches this; ``cap_w`` [false]: the predictive's weighted counts capped at one vote each;
  ``credit`` "loo": each answer credited with its option's posterior given the task's other
  answers (leave-one-out) instead of all of them; ``explore`` [0] / ``every`` [none]: the first
  N tasks, or every N-th, at full overlap.

Prints per candidate the datasets that reach majority vote over all answers (a tie broken at
random: ``adaptive.mv_bars``'s ``mv_fair``) with at most half of them (mean over seeds) and, per
dataset, share of answers used / accuracy minus the bar (worst seed in brackets); with
``select``, each model's evidence at the end of the last seed.
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

from adaptive import accuracy, eligible, mv_bars, prepare  # noqa: E402

from labelhouse.quality.policy import effective_counts, leader_holds  # noqa: E402

ASSUMED = 0.7
EVIDENCE: list[dict[str, float]] = []
CHOSEN: Counter[str] = Counter()  # draws decided under each model
# The running candidate's knobs and records that the model functions read (a bench script, so a
# module-level dict rather than threading them through every call).
RUN: dict[str, Any] = {"on": False, "record": {}}


def posterior(
    labels: list[str], options: list[str], accs: list[float], stored: Counter[str] | None
) -> tuple[str, float, dict[str, float]]:
    """The one-coin posterior (as ``policy.choice_distribution``), with a class prior from the
    labels stored so far when ``stored`` is given."""
    k = max(len(options), 2)
    prior = stored or Counter()
    pseudo = RUN.get("pseudo", 1.0)
    total = sum(prior.values()) + k * pseudo
    score = {o: math.log((prior[o] + pseudo) / total) for o in options}
    for label, a in zip(labels, accs, strict=True):
        a = min(max(a, 1e-6), 1 - 1e-6)
        score[label] += math.log(a * (k - 1) / (1 - a))
    top = max(score.values())
    weight = {o: math.exp(v - top) for o, v in score.items()}
    norm = sum(weight.values())
    best = max(options, key=weight.__getitem__)
    return best, weight[best] / norm, {o: w / norm for o, w in weight.items()}


def class_accuracy(rec: dict[str, dict[str, tuple[float, float]]], w: str, c: str, shrink: float) -> float:
    """Annotator ``w``'s accuracy when the truth is ``c`` (two-coin records), shrunk towards the
    assumed accuracy, or with ``hier`` towards the annotator's one-coin accuracy."""
    right, n = rec[w].get(c, (0.0, 0.0))
    centre = ASSUMED
    if RUN["on"]:
        r1, n1 = RUN["record"][w]
        centre = min(max((r1 + 4.0 * ASSUMED) / (n1 + 4.0), 0.5), 0.99)
    return min(max((right + shrink * centre) / (n + shrink), 0.5), 0.99)


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
        return class_accuracy(rec, w, c, shrink)

    score = dict.fromkeys(options, 0.0)
    prior = RUN.get("stored")
    if prior is not None:
        total = sum(prior.values()) + k * RUN["pseudo"]
        score = {o: math.log((prior[o] + RUN["pseudo"]) / total) for o in options}
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


def prequential(
    taken: list[tuple[str, str]], options: list[str], accs: list[float], stored: Counter[str] | None = None
) -> float:
    """log P(each answer | the task's answers before it) under the one-coin model with these
    accuracies, summed over the task's answers after the first (the first is 1/k under any)."""
    k = max(len(options), 2)
    total = 0.0
    for j in range(0 if stored is not None else 1, len(taken)):
        _b, _p, dist = posterior([lab for _w, lab in taken[:j]], options, accs[:j], stored)
        a = min(max(accs[j], 1e-6), 1 - 1e-6)
        lab = taken[j][1]
        total += math.log(sum(p * (a if lab == c else (1 - a) / (k - 1)) for c, p in dist.items()))
    return total


def plain_acc(record: dict[str, tuple[float, int]], select: str, shrink: float) -> float:
    """The unweighted model's common accuracy: the assumed one, or pooled over every record."""
    if select == "assumed":
        return ASSUMED
    right = sum(r for r, _n in record.values())
    n = sum(n for _r, n in record.values())
    return min(max((right + shrink * ASSUMED) / (n + shrink), 0.5), 0.99)


def dm_prequential(taken: list[tuple[str, str]], options: list[str], accs: list[float]) -> float:
    """log P(each answer | the answers before it) when the item's vote shares are Dirichlet
    (prior 1) given the votes before it counted by ``effective_counts`` (the predictive rule's model)."""
    k = max(len(options), 2)
    total = 0.0
    for j in range(1, len(taken)):
        counts = effective_counts([lab for _w, lab in taken[:j]], options, accs[:j], ASSUMED)
        i = options.index(taken[j][1])
        total += math.log((counts[i] + 1) / (sum(counts) + k))
    return total


def prequential_two(
    taken: list[tuple[str, str]],
    options: list[str],
    rec: dict[str, dict[str, tuple[float, float]]],
    shrink: float,
) -> float:
    """As :func:`prequential` under the class-conditional records."""
    k = max(len(options), 2)

    def acc(w: str, c: str) -> float:
        return class_accuracy(rec, w, c, shrink)

    total = 0.0
    for j in range(1, len(taken)):
        _b, _p, dist, _a = two_coin(taken[:j], options, rec, shrink)
        w, lab = taken[j]
        total += math.log(
            sum(p * (acc(w, c) if lab == c else (1 - acc(w, c)) / (k - 1)) for c, p in dist.items())
        )
    return total


def replay(
    answers: dict[str, list[tuple[str, str]]], options: list[str], seed: int, c: dict[str, Any]
) -> tuple[int, dict[str, str]]:
    rng = random.Random(seed)
    if c.get("prior_k2") and len(options) > 2:  # the class prior on two-option data only
        c = {key: v for key, v in c.items() if key != "class_prior"}
    record: dict[str, tuple[float, int]] = defaultdict(lambda: (0.0, 0))
    rec2: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
    stored: Counter[str] = Counter()
    select = c.get("select")
    evidence = {"weighted": 0.0, "plain": 0.0, "two": 0.0, "wprior": 0.0 if select == "prior" else -math.inf}
    RUN["on"], RUN["record"] = bool(c.get("hier")), record
    RUN["pseudo"] = c.get("pseudo", 1.0)
    RUN["stored"] = stored if c.get("class_prior") else None
    used, out = 0, {}
    target, guard = c.get("target", 0.95), c.get("guard")
    shrink = c.get("shrink", 4.0)
    shrink2 = c.get("shrink2", shrink)
    items = sorted(answers)
    rng.shuffle(items)
    # learned vote-share prior: a grid of symmetric Dirichlet concentrations, each scored by the
    # Dirichlet-multinomial likelihood of the finished tasks' plain votes
    alphas = [0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0]
    alpha_ll = dict.fromkeys(alphas, 0.0)
    vote_prior = 1.0 if c.get("prior") == "learned" else c.get("prior", 1.0)
    for pos, item in enumerate(items):
        # exploration: the project's first ``explore`` tasks, or every ``every``-th, at full overlap
        explore = pos < c.get("explore", 0) or (c.get("every") and pos % c["every"] == 0)
        order = list(answers[item])
        rng.shuffle(order)
        cap = len(order)
        taken: list[tuple[str, str]] = []
        while True:
            taken.append(order.pop())
            labels = [lab for _w, lab in taken]
            waccs = [
                min(max((record[w][0] + shrink * ASSUMED) / (record[w][1] + shrink), 0.5), 0.99)
                for w, _l in taken
            ]
            accs = waccs
            chosen = max(evidence, key=evidence.__getitem__) if select else "weighted"
            if (
                select and c.get("prefer") == "plain"
            ):  # the simpler model unless the other is better by a margin
                chosen = (
                    "weighted" if evidence["weighted"] > evidence["plain"] + c.get("margin", 0.0) else "plain"
                )
            if select and c.get("prefer") == "weighted":  # plain only on strong evidence
                chosen = (
                    "plain" if evidence["plain"] > evidence["weighted"] + c.get("margin", 0.0) else "weighted"
                )
            chosen = c.get("force", chosen)
            CHOSEN[chosen] += 1
            if chosen == "plain" and c.get("switch") != "label":
                accs = [plain_acc(record, select, shrink)] * len(taken)
            n = len(taken)
            if not order:
                break
            if n < c.get("min_labels", 2) or explore:
                continue
            use_prior = chosen == "wprior" or (c.get("class_prior") and select != "prior")
            best, post, _dist = posterior(labels, options, accs, stored if use_prior else None)
            if c.get("prior_use") in ("stop", "stop_both"):  # the class prior only in the guard
                with_prior = posterior(labels, options, accs, stored)[1]
                post = with_prior if c["prior_use"] == "stop" else min(post, with_prior)
            if c.get("two_coin") or chosen == "two":
                best, post, _dist, accs = two_coin(taken, options, rec2, shrink2)
            if c.get("votes", "weighted") == "weighted" and not (
                chosen == "plain" and c.get("plain_votes") == "raw"
            ):
                counts = effective_counts(labels, options, accs, ASSUMED)
                if c.get("cap_w"):  # nobody counts for more than one vote
                    counts = [min(x, float(labels.count(o))) for x, o in zip(counts, options, strict=True)]
            else:
                counts = [float(labels.count(o)) for o in options]
            stop = c.get("stop", "both")
            if stop == "posterior":
                done = post >= target
            elif stop == "predictive":
                done = leader_holds(counts, cap - n, vote_prior) >= target
            elif stop == "both" and chosen == "plain" and c.get("plain_stop") == "predictive":
                done = leader_holds(counts, cap - n, vote_prior) >= target
            elif stop == "both":
                done = leader_holds(counts, cap - n, vote_prior) >= target and post >= (guard or target)
            else:  # agree
                plain = Counter(labels)
                leaders = [o for o in options if plain[o] == max(plain.values())]
                done = post >= target and leaders == [best]
            if done and c.get("label", "plurality") == "plurality":  # the winner is a plurality label
                done = labels.count(best) == max(labels.count(o) for o in options)
            if done and c.get("plain_guard") is not None:  # and the plain votes' leader holds too
                raw = [float(labels.count(o)) for o in options]
                done = leader_holds(raw, cap - n, vote_prior) >= c["plain_guard"]
            if done:
                break
        used += len(taken)
        labels = [lab for _w, lab in taken]
        if c.get("prior") == "learned":
            k = max(len(options), 2)
            got = Counter(labels)
            for al in alphas:
                alpha_ll[al] += (
                    math.lgamma(k * al)
                    - math.lgamma(len(labels) + k * al)
                    + sum(math.lgamma(got[o] + al) - math.lgamma(al) for o in options)
                )
            vote_prior = max(alphas, key=alpha_ll.__getitem__) if len(items) else 1.0
            RUN["alpha"] = vote_prior
        use_prior = chosen == "wprior" or (c.get("class_prior") and select != "prior")
        best, _post, dist = posterior(labels, options, accs, stored if use_prior else None)
        if c.get("two_coin") or chosen == "two":
            best, _post, dist, accs = two_coin(taken, options, rec2, shrink2)
        if c.get("label", "plurality") == "majority" or (c.get("switch") == "label" and chosen == "plain"):
            plain = Counter(labels)
            best = next(o for o in options if plain[o] == max(plain.values()))
        elif c.get("label", "plurality") == "plurality":
            plain = Counter(labels)
            best = max((o for o in options if plain[o] == max(plain.values())), key=dist.__getitem__)
        out[item] = best
        if c.get("prior_use"):  # the prior's M-step from the posterior with it
            for o, p_o in posterior(labels, options, accs, stored)[2].items():
                stored[o] += p_o
        elif c.get("class_prior") == "soft":
            for o in options:
                stored[o] += dist[o]
        else:
            stored[best] += 1
        if select == "prior" and len(taken) >= 2:
            evidence["weighted"] += prequential(taken, options, waccs) - math.log(max(len(options), 2))
            evidence["wprior"] += prequential(taken, options, waccs, stored)
            evidence["plain"] = evidence["two"] = -math.inf
            EVIDENCE.append(dict(evidence))
        elif select and len(taken) >= 2 and c.get("evidence") == "agree":
            # where the weighted and the plain leader of the answers so far differ, which one the
            # next answer agrees with
            for j in range(2, len(taken)):
                wl = posterior(labels[:j], options, waccs[:j], None)[0]
                plain = Counter(labels[:j])
                top = [o for o in options if plain[o] == max(plain.values())]
                if len(top) == 1 and top[0] != wl:
                    evidence["weighted"] += labels[j] == wl
                    evidence["plain"] += labels[j] == top[0]
            evidence["two"] = -math.inf
            EVIDENCE.append(dict(evidence))
        elif select and len(taken) >= 2 and c.get("evidence") == "dm":
            evidence["weighted"] += dm_prequential(taken, options, waccs)
            evidence["plain"] += dm_prequential(taken, options, [ASSUMED] * len(taken))
            evidence["two"] = -math.inf
            EVIDENCE.append(dict(evidence))
        elif select and len(taken) >= 2:
            evidence["weighted"] += prequential(taken, options, waccs)
            evidence["plain"] += prequential(taken, options, [plain_acc(record, select, shrink)] * len(taken))
            if c.get("three"):
                evidence["two"] += prequential_two(taken, options, rec2, shrink)
            else:
                evidence["two"] = -math.inf
            EVIDENCE.append(dict(evidence))
        if len(taken) >= 2:
            dist1, dist2 = dist, dist
            if select:  # each model's records learn from its own posterior
                dist1 = posterior(labels, options, waccs, None)[2]
                dist2 = two_coin(taken, options, rec2, shrink2)[2]
            for j, (w, lab) in enumerate(taken):
                credit: float = dist1[lab]
                if c.get("credit") == "loo":  # the posterior given the task's other answers
                    others, oaccs = labels[:j] + labels[j + 1 :], waccs[:j] + waccs[j + 1 :]
                    credit = posterior(others, options, oaccs, None)[2][lab]
                record[w] = (record[w][0] + credit, record[w][1] + 1)
                for cls in options:
                    right, seen = rec2[w].get(cls, (0.0, 0.0))
                    rec2[w][cls] = (right + (dist2[cls] if lab == cls else 0.0), seen + dist2[cls])
    return used, out


def main() -> None:
    candidates = json.loads(sys.argv[1])
    seeds = range(int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    data = {}
    for name in eligible():
        answers, truth, options = prepare(name)
        truth = {i: t for i, t in truth.items() if i in answers}
        total = sum(len(v) for v in answers.values())
        data[name] = (answers, truth, options, mv_bars(answers, truth, options)["mv_fair"], total)
    for c in candidates:
        passed, cells = 0, []
        for name, (answers, truth, options, bar, total) in data.items():
            shares, accs = [], []
            for seed in seeds:
                used, labels = replay(answers, options, seed, c)
                shares.append(used / total)
                accs.append(accuracy(labels, truth))
            share, acc = sum(shares) / len(shares), sum(accs) / len(accs)
            if EVIDENCE:
                e = EVIDENCE[-1]
                traj = [e2["plain"] - e2["weighted"] for e2 in EVIDENCE[:: max(len(EVIDENCE) // 8, 1)]]
                print(
                    name,
                    "plain - weighted along the last seed:",
                    [round(t) for t in traj],
                    {m: round(v) for m, v in e.items() if v > -math.inf},
                    "draws decided by",
                    {m: f"{n / sum(CHOSEN.values()):.0%}" for m, n in CHOSEN.items()},
                    flush=True,
                )
                CHOSEN.clear()
                EVIDENCE.clear()
            if "alpha" in RUN:
                print(name, "learned vote-share prior", RUN.pop("alpha"), flush=True)
            ok = acc >= bar - 1e-9 and share <= 0.5
            passed += ok
            cells.append(
                f"{name}:{100 * share:.0f}%/{acc - bar:+.2f}({min(accs) - bar:+.2f}){'' if ok else '!'}"
            )
        print(c, "pass", passed, "|", " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
