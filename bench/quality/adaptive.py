"""Adaptive overlap replayed on the real crowd datasets with >= 10 answers per item.

    python bench/quality/adaptive.py                 # all such datasets, 5 seeds, chart in docs/img/
    python bench/quality/adaptive.py --quick         # 2 seeds, the operating points only
    python bench/quality/adaptive.py --seeds 10      # more seeds
    python bench/quality/adaptive.py --gold 0.03     # 3 % of the items are gold, answered first
    python bench/quality/adaptive.py --gold 0.03 --gold-order mixed   # ... or mixed into the queue

Each dataset is one project whose ``max_labels`` is the dataset's usual overlap (the median
item's number of answers: what a fixed-overlap project collected), ``min_labels`` 2 and
``assumed_accuracy`` 0.7, the rule's defaults otherwise. For every item, its answers are drawn in
a random order (a seed), as the queue would hand the task to whichever annotator comes next; an
item whose answers run out stops there. The product's own functions run on each draw, as the
completing submit runs them (``services.consensus.on_submit``): the task's consensus with each
annotator's estimated accuracy (``quality.task.task_consensus``, ``quality.policy.
annotator_accuracy``), how settled its leader is (``quality.task.task_settled``, the
"predictive" stop rule), ``wants_more_labels`` on both, and the finished task's answers credited
to their annotators (``quality.task.task_credit``). Reported labels: the stored consensus (the
pass mark), the unweighted majority of the drawn answers (what an export recomputes), and the
default inference over all drawn answers (the quality report).

Three rules, the same replay: ``predictive`` (the default: posterior and predictive both at the
target), ``posterior`` (``stop_rule: posterior``, the rule before it: the posterior alone) and
``unweighted`` (``annotator_weights: false``: every annotator at the assumed accuracy). Compared
with majority vote over all answers (the bar: a tie broken uniformly at random, scored as its
expected accuracy, so the bar does not depend on how the classes are named; ties to the first
and to the last class printed beside it) and with a fixed overlap of k random answers per
item (the curve adaptive overlap should beat). Prints a table per rule at its operating point
(mean and min over seeds), the curves, and writes an accuracy-versus-labels chart (SVG, written
here: no matplotlib needed) and bench/results/quality_adaptive.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from datasets import dataset_names, load  # noqa: E402

from labelhouse.controls.choices import ChoicesConfig  # noqa: E402
from labelhouse.quality import DEFAULT_METHOD, Answers, get_method  # noqa: E402
from labelhouse.quality.policy import (  # noqa: E402
    QualityPolicy,
    annotator_accuracy,
    choice_posterior,
    wants_more_labels,
)
from labelhouse.quality.task import gold_correct, task_consensus, task_credit, task_settled  # noqa: E402

# The rules compared, the settings that differ, the targets of their curves and their operating
# target (the table's row): the default rule first.
RULES: dict[str, dict[str, Any]] = {
    "predictive": {"settings": {}, "targets": [0.8, 0.9, 0.95, 0.97, 0.99], "operating": 0.95},
    "posterior": {"settings": {"stop_rule": "posterior"}, "targets": [0.9, 0.95, 0.99], "operating": 0.99},
    "unweighted": {"settings": {"annotator_weights": False}, "targets": [0.95], "operating": 0.95},
}
BASE = {"min_labels": 2, "assumed_accuracy": 0.7}


def eligible() -> list[str]:
    out = []
    for name in dataset_names():
        rows, _truth = load(name)
        per: dict[str, set[str]] = defaultdict(set)
        for item, worker, _label in rows:
            per[item].add(worker)
        counts = sorted(len(v) for v in per.values())
        if counts[len(counts) // 2] >= 10:  # the median item has 10 or more answers
            out.append(name)
    return out


def prepare(name: str) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str], list[str]]:
    """Per item with truth: its (worker, label) answers, a worker's last answer kept."""
    rows, truth = load(name)
    last: dict[tuple[str, str], str] = {}
    for item, worker, label in rows:
        last[(item, worker)] = label
    answers: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (item, worker), label in last.items():
        if item in truth:
            answers[item].append((worker, label))
    options = sorted({label for _i, _w, label in rows} | set(truth.values()))
    return dict(answers), truth, options


def accuracy(labels: dict[str, str], truth: dict[str, str]) -> float:
    return 100.0 * sum(labels.get(i) == t for i, t in truth.items() if i in labels) / len(labels)


def mv_bars(
    answers: dict[str, list[tuple[str, str]]], truth: dict[str, str], options: list[str]
) -> dict[str, float]:
    """Majority vote over every answer, scored three ways that differ only on tied items:
    ``mv_fair`` (the pass mark) counts a tied item right with probability 1 / (number of tied
    classes) when the truth is among them, the expected accuracy under a uniform random tie-break
    and the only one of the three that does not change when the classes are renamed; ``mv_first``
    and ``mv_last`` give every tie to the first (the "mv" method) or the last class in sorted
    order. Also ``ties``: the number of tied items."""
    fair = first = last = 0.0
    ties = 0
    for item, t in truth.items():
        votes: dict[str, int] = defaultdict(int)
        for _w, lab in answers[item]:
            votes[lab] += 1
        top = max(votes.values())
        tied = [o for o in options if votes.get(o) == top]
        ties += len(tied) > 1
        fair += (t in tied) / len(tied)
        first += tied[0] == t
        last += tied[-1] == t
    n = len(truth)
    return {"mv_fair": 100 * fair / n, "mv_first": 100 * first / n, "mv_last": 100 * last / n, "ties": ties}


def inferred(drawn: dict[str, list[tuple[str, str]]], options: list[str]) -> dict[str, str]:
    """The project's default inference over every drawn answer (what the quality report gives)."""
    triples = [(i, w, lab) for i, given in drawn.items() for w, lab in given]
    data = Answers.from_triples(triples, classes=options)
    result = get_method(DEFAULT_METHOD).infer(data, seed=0)
    return {str(t): data.classes[int(result.labels[k])] for k, t in enumerate(data.tasks)}


# Gold (``--gold``): which items are gold does not depend on the replay's seed.
GOLD_SEED = 99


def gold_split(
    answers: dict[str, list[tuple[str, str]]], truth: dict[str, str], share: float
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]]]:
    """``share`` of the items (at least one; none for 0) as gold tasks, the rest as ordinary ones."""
    if share <= 0:
        return {}, answers
    items = sorted(answers)
    gold = set(random.Random(GOLD_SEED).sample(items, max(1, round(share * len(items)))))
    return {i: answers[i] for i in items if i in gold}, {i: answers[i] for i in items if i not in gold}


def gold_credits(
    gold: dict[str, list[tuple[str, str]]], truth: dict[str, str], config: ChoicesConfig
) -> dict[str, list[tuple[str, float]]]:
    """Per gold item, each of its annotators' credit, scored as the product's gold submit scores
    it (``services.credits.record_gold``: one counted answer, right 1 when ``gold_correct``, else 0)."""
    out: dict[str, list[tuple[str, float]]] = {}
    for item, given in gold.items():
        expected = {config.name: truth[item]}
        out[item] = [
            (w, 1.0 if gold_correct([config], {config.name: lab}, expected) else 0.0) for w, lab in given
        ]
    return out


def gold_records(credits: dict[str, list[tuple[str, float]]]) -> dict[str, tuple[float, int]]:
    """The records after every annotator of every gold item answered it."""
    record: dict[str, tuple[float, int]] = defaultdict(lambda: (0.0, 0))
    for given in credits.values():
        for w, right in given:
            record[w] = (record[w][0] + right, record[w][1] + 1)
    return dict(record)


def replay(
    answers: dict[str, list[tuple[str, str]]],
    config: ChoicesConfig,
    policy: QualityPolicy,
    seed: int,
    start: dict[str, tuple[float, int]] | None = None,
    mixed: dict[str, list[tuple[str, float]]] | None = None,
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """Adaptive overlap on every item (items and their answers in a random order), as the
    product's completing submit runs it (``services.consensus.on_submit``, line for line): the
    task's consensus with each annotator's estimated accuracy from their record so far
    (``annotator_accuracy``), under the "predictive" rule how settled its leader is
    (``task_settled``), ``wants_more_labels`` on both, and once the task is finished its answers
    credited to their annotators' records (``task_credit``). An item whose answers run out
    stops there. ``start``: the records before the first task (gold answered first);
    ``mixed``: gold items' credits, each item put among the others at random and credited when
    its turn comes (gold mixed into the queue). Returns the answers drawn and the stored label."""
    rng = random.Random(seed)
    record: dict[str, tuple[float, int]] = defaultdict(lambda: (0.0, 0), start or {})
    drawn: dict[str, list[tuple[str, str]]] = {}
    labels: dict[str, str] = {}
    mixed = mixed or {}
    items = sorted(answers) + sorted(mixed)
    rng.shuffle(items)
    for item in items:
        if item in mixed:
            for w, right in mixed[item]:
                record[w] = (record[w][0] + right, record[w][1] + 1)
            continue
        order = list(answers[item])
        rng.shuffle(order)
        taken: list[tuple[str, str]] = []
        while True:
            taken.append(order.pop())
            labels_now = len(taken)
            pairs = [(w, {config.name: lab}) for w, lab in taken]
            accuracy = {w: annotator_accuracy(*record[w], policy) for w, _l in taken}
            values, confidence = task_consensus([config], pairs, policy, accuracy)
            settled = None
            if policy.stop_rule == "predictive" and policy.min_labels <= labels_now < policy.max_labels:
                settled = task_settled([config], pairs, policy, accuracy)
            if not order or not wants_more_labels(policy, labels_now, confidence, 0, settled):
                break
        drawn[item] = taken
        labels[item] = str(values[config.name]["value"])
        for w, (c, n) in task_credit([config], pairs, accuracy).items():
            record[w] = (record[w][0] + c, record[w][1] + n)
    return drawn, labels


def majority(drawn: dict[str, list[tuple[str, str]]], options: list[str]) -> dict[str, str]:
    """The unweighted majority of the drawn answers (what an export recomputes per task)."""
    return {i: str(choice_posterior([lab for _w, lab in g], options, 0.7)[0]) for i, g in drawn.items()}


def fixed(
    answers: dict[str, list[tuple[str, str]]], options: list[str], k: int, seed: int
) -> tuple[int, dict[str, str]]:
    rng = random.Random(seed)
    used = 0
    labels = {}
    for item in sorted(answers):
        order = list(answers[item])
        rng.shuffle(order)
        taken = order[:k]
        used += len(taken)
        labels[item] = str(choice_posterior([lab for _w, lab in taken], options, 0.7)[0])
    return used, labels


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def usual_overlap(answers: dict[str, list[tuple[str, str]]]) -> int:
    """The median item's number of answers (at most 100, the policy's cap): the project's max_labels."""
    counts = sorted(len(v) for v in answers.values())
    return min(counts[len(counts) // 2], 100)


def point(
    answers: dict[str, list[tuple[str, str]]],
    truth: dict[str, str],
    options: list[str],
    policy: QualityPolicy,
    seeds: list[int],
    *,
    full: bool,
    gold: dict[str, list[tuple[str, str]]] | None = None,
    gold_order: str = "first",
) -> dict[str, float]:
    """One policy over every seed: mean share of answers used, mean and min accuracy of the
    stored label; with ``full`` also the drawn answers' majority and default inference. With
    ``gold``, every answer of those items is given (first, or with ``gold_order`` "mixed" each
    item at a random place among the others) and counts as used."""
    config = ChoicesConfig(name="label", type="choices", options=options)
    gold = gold or {}
    paid = sum(len(v) for v in gold.values())
    total = sum(len(v) for v in answers.values()) + paid
    credits = gold_credits(gold, truth, config)
    start = gold_records(credits) if gold and gold_order == "first" else None
    mixed = credits if gold_order == "mixed" else None
    fractions, accs, mv_accs, ds_accs = [], [], [], []
    for seed in seeds:
        drawn, labels = replay(answers, config, policy, seed, start, mixed)
        fractions.append((sum(len(v) for v in drawn.values()) + paid) / total)
        accs.append(accuracy(labels, truth))
        if full:
            mv_accs.append(accuracy(majority(drawn, options), truth))
            ds_accs.append(accuracy(inferred(drawn, options), truth))
    out = {
        "target": float(policy.target_confidence or 0.0),
        "labels_fraction": mean(fractions),
        "labels_fraction_max": max(fractions),
        "accuracy": mean(accs),
        "accuracy_min": min(accs),
    }
    if full:
        out |= {"accuracy_mv": mean(mv_accs), "accuracy_inferred": mean(ds_accs)}
    return out


def run(
    names: list[str], seeds: list[int], quick: bool, gold_share: float = 0.0, gold_order: str = "first"
) -> dict[str, Any]:
    """Every rule and target on every dataset. With ``gold_share``, that share of the items are
    gold tasks answered by all their annotators before the replay; the bar, the accuracies and
    the fixed overlaps are over the other items, the labels used count the gold answers too."""
    out: dict[str, Any] = {}
    for name in names:
        every, truth, options = prepare(name)
        truth = {i: t for i, t in truth.items() if i in every}
        gold, answers = gold_split(every, truth, gold_share)
        gold_truth = {i: truth[i] for i in gold}
        truth = {i: t for i, t in truth.items() if i in answers}
        total = sum(len(v) for v in answers.values())
        bars = mv_bars(answers, truth, options)
        max_labels = usual_overlap(answers)
        rules: dict[str, Any] = {}
        for rule, spec in RULES.items():
            settings: dict[str, Any] = {**BASE, "max_labels": max_labels, **spec["settings"]}
            operating = float(spec["operating"])
            targets = [operating] if quick else list(spec["targets"])
            curve = []
            for target in targets:
                policy = QualityPolicy.parse({**settings, "target_confidence": target})
                curve.append(
                    point(
                        answers,
                        {**truth, **gold_truth},
                        options,
                        policy,
                        seeds,
                        full=target == operating,
                        gold=gold,
                        gold_order=gold_order,
                    )
                )
            rules[rule] = {
                "settings": settings,
                "curve": curve,
                "operating_point": next(c for c in curve if c["target"] == operating),
            }
        fixed_curve = []
        for k in (1, 2, 3, 4, 5, 7, 9, 11, 15, 20, 30, 40):
            used, accs = 0, []
            for seed in seeds:
                used, labels = fixed(answers, options, k, seed)
                accs.append(accuracy(labels, truth))
            fixed_curve.append({"k": k, "labels_fraction": used / total, "accuracy_mv": mean(accs)})
        out[name] = {
            "gold_items": len(gold),
            "items": len(answers),
            "answers": total,
            "max_labels": max_labels,
            **bars,
            "rules": rules,
            "fixed": fixed_curve,
        }
    return out


def verdict(bar: float, op: dict[str, float]) -> tuple[bool, str]:
    short = bar - op["accuracy"]
    meets = short <= 1e-9 and op["labels_fraction"] <= 0.5
    if meets:
        return True, "PASS"
    return False, "FAIL" + (" (labels > 50%)" if op["labels_fraction"] > 0.5 else f" ({short:.2f} short)")


def print_report(results: dict[str, Any]) -> dict[str, int]:
    passes: dict[str, int] = {}
    for rule, spec in RULES.items():
        print(
            f"rule {rule} ({spec['settings'] or 'defaults'}), target {spec['operating']}, {BASE}, "
            "max_labels: the usual overlap"
        )
        print(
            f"{'dataset':<14}{'items':>7}{'answers':>9}{'max':>5}{'ties':>6}{'mv fair':>9}{'first':>7}{'last':>7}"
            f"{'labels':>9}{'stored':>9}{'min':>8}{'maj':>8}{'infer':>8}  pass"
        )
        passes[rule] = 0
        other = {"mv_first": 0, "mv_last": 0}
        for name, r in results.items():
            op = r["rules"][rule]["operating_point"]
            meets, why = verdict(float(r["mv_fair"]), op)
            passes[rule] += meets
            for bar in other:
                other[bar] += verdict(float(r[bar]), op)[0]
            print(
                f"{name:<14}{r['items']:>7}{r['answers']:>9}{r['max_labels']:>5}{r['ties']:>6}{r['mv_fair']:>9.2f}"
                f"{r['mv_first']:>7.2f}{r['mv_last']:>7.2f}"
                f"{100 * op['labels_fraction']:>8.1f}%{op['accuracy']:>9.2f}{op['accuracy_min']:>8.2f}"
                f"{op['accuracy_mv']:>8.2f}{op['accuracy_inferred']:>8.2f}  {why}"
            )
        print(
            f"{rule}: {passes[rule]} of {len(results)} datasets pass (against ties to the first class: "
            f"{other['mv_first']}, to the last: {other['mv_last']})\n"
        )
    print("accuracy (stored consensus) vs share of all answers used, per rule and target:")
    for name, r in results.items():
        for rule in RULES:
            cells = "  ".join(
                f"{c['target']}: {100 * c['labels_fraction']:.0f}% -> {c['accuracy']:.1f}"
                for c in r["rules"][rule]["curve"]
            )
            print(f"  {name if rule == 'predictive' else '':<13} {rule:<11} {cells}")
        fixed_cells = "  ".join(
            f"k={c['k']}: {100 * c['labels_fraction']:.0f}% -> {c['accuracy_mv']:.1f}" for c in r["fixed"]
        )
        print(f"  {'':<13} {'fixed k':<11} {fixed_cells}")
    return passes


COLOURS = {"predictive": "#d62728", "posterior": "#ff7f0e", "unweighted": "#2ca02c"}


def svg_chart(results: dict[str, Any], path: Path) -> None:
    """Small multiples: accuracy vs share of answers used, one solid line per adaptive rule (by
    target), fixed k (dashed), majority vote over all answers (grey line: random tie-break; band:
    ties to the first class .. to the last), half the answers
    (dotted)."""
    names = list(results)
    cols = 3
    rows = (len(names) + cols - 1) // cols
    w, h, pad = 300, 220, 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * w}" height="{rows * h + 64}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{cols * w}" height="{rows * h + 64}" fill="white"/>',
        '<text x="10" y="18" font-size="13">Adaptive overlap by target confidence (solid; ring: operating '
        "point) vs fixed k labels (dashed blue)</text>",
        '<text x="10" y="34">grey line: majority vote over all answers, a tie broken at random (expected '
        "accuracy: the bar); grey band: ties to the first class .. to the last</text>",
    ]
    for n, (rule, colour) in enumerate(COLOURS.items()):
        x = 10 + n * 200
        parts.append(f'<line x1="{x}" x2="{x + 24}" y1="50" y2="50" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{x + 30}" y="54">{rule}{" (default)" if n == 0 else ""}</text>')
    for n, name in enumerate(names):
        r = results[name]
        ox, oy = (n % cols) * w, 64 + (n // cols) * h
        curves = {
            rule: [(c["labels_fraction"], c["accuracy"], c["target"]) for c in r["rules"][rule]["curve"]]
            for rule in COLOURS
        }
        fixed_pts = [(c["labels_fraction"], c["accuracy_mv"]) for c in r["fixed"]]
        ys = [a for pts in curves.values() for _f, a, _t in pts] + [a for _f, a in fixed_pts]
        ys += [float(r["mv_fair"]), float(r["mv_first"]), float(r["mv_last"])]
        lo, hi = min(ys) - 1, max(ys) + 1

        def px(f: float, a: float, ox: int = ox, oy: int = oy, lo: float = lo, hi: float = hi) -> str:
            x = ox + pad + f * (w - pad - 24)
            y = oy + h - pad - (a - lo) / (hi - lo) * (h - pad - 25)
            return f"{x:.1f},{y:.1f}"

        parts.append(
            f'<text x="{ox + pad}" y="{oy + 14}" font-weight="bold">{name} (max_labels {r["max_labels"]})</text>'
        )
        parts.append(
            f'<rect x="{ox + pad}" y="{oy + 20}" width="{w - pad - 24}" height="{h - pad - 20}" '
            'fill="none" stroke="#999"/>'
        )
        band_top = px(0, max(float(r["mv_first"]), float(r["mv_last"]))).split(",")[1]
        band_bottom = px(0, min(float(r["mv_first"]), float(r["mv_last"]))).split(",")[1]
        parts.append(
            f'<rect x="{ox + pad}" y="{band_top}" width="{w - pad - 24}" '
            f'height="{float(band_bottom) - float(band_top):.1f}" fill="#e8e8e8"/>'
        )
        bar_y = px(0, float(r["mv_fair"])).split(",")[1]
        parts.append(
            f'<line x1="{ox + pad}" x2="{ox + w - 24}" y1="{bar_y}" y2="{bar_y}" stroke="#aaa" stroke-width="1.5"/>'
        )
        half = px(0.5, lo).split(",")[0]
        parts.append(
            f'<line x1="{half}" x2="{half}" y1="{oy + 20}" y2="{oy + h - pad}" stroke="#ccc" stroke-dasharray="2,2"/>'
        )
        parts.append(
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" stroke-dasharray="5,3" '
            f'points="{" ".join(px(f, a) for f, a in fixed_pts)}"/>'
        )
        for rule, colour in reversed(COLOURS.items()):
            pts = curves[rule]
            operating = float(RULES[rule]["operating"])
            if len(pts) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                    f'points="{" ".join(px(f, a) for f, a, _t in pts)}"/>'
                )
            for f, a, t in pts:
                cx, cy = px(f, a).split(",")
                if t == operating:
                    parts.append(
                        f'<circle cx="{cx}" cy="{cy}" r="4.5" fill="white" stroke="{colour}" stroke-width="2"/>'
                    )
                else:
                    parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
        for tick in (0, 0.25, 0.5, 0.75, 1.0):
            tx = px(tick, lo).split(",")[0]
            parts.append(
                f'<text x="{tx}" y="{oy + h - pad + 13}" text-anchor="middle">{int(tick * 100)}%</text>'
            )
        for a in (lo + 1, (lo + hi) / 2, hi - 1):
            y = px(0, a).split(",")[1]
            parts.append(f'<text x="{ox + pad - 4}" y="{y}" text-anchor="end">{a:.0f}</text>')
        parts.append(
            f'<text x="{ox + pad + (w - pad) / 2}" y="{oy + h - 8}" text-anchor="middle">share of all answers used</text>'
        )
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2 seeds, the operating points only")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--only", nargs="*", help="these datasets only")
    p.add_argument(
        "--gold",
        type=float,
        default=0.0,
        help="this share of each dataset's items are gold tasks, answered first (no chart by default)",
    )
    p.add_argument(
        "--gold-order",
        choices=["first", "mixed"],
        default="first",
        help="gold answered before everything (gold_rate 1), or each gold item at a random place",
    )
    p.add_argument(
        "--chart", type=Path, default=None, help="default: docs/img/adaptive_overlap.svg without --gold"
    )
    a = p.parse_args()
    seeds = list(range(2 if a.quick else a.seeds))
    names = [n for n in eligible() if not a.only or n in a.only]
    started = time.perf_counter()
    results = run(names, seeds, a.quick, a.gold, a.gold_order)
    if a.gold:
        when = "first" if a.gold_order == "first" else "each item at a random place in the queue"
        print(f"gold: {a.gold:.0%} of each dataset's items, every answer given {when} and counted as used\n")
    passes = print_report(results)
    chart = a.chart or (None if a.gold else ROOT / "docs" / "img" / "adaptive_overlap.svg")
    if chart is not None:
        svg_chart(results, chart)
    print(f"\n{len(names)} datasets, seeds {seeds}, {time.perf_counter() - started:.1f} s; chart: {chart}")
    print(
        "all datasets reach majority vote over all answers with at most half of them (default rule):",
        "PASS" if passes["predictive"] == len(names) else f"FAIL ({passes['predictive']} of {len(names)})",
    )
    out = ROOT / "bench" / "results" / ("quality_adaptive_gold.json" if a.gold else "quality_adaptive.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rules": RULES, "base": BASE, "seeds": seeds, "results": results}, indent=1))


if __name__ == "__main__":
    main()
