"""Adaptive overlap replayed on the real crowd datasets with >= 10 answers per item.

    python bench/quality/adaptive.py                 # all such datasets, 5 seeds, chart in docs/img/
    python bench/quality/adaptive.py --quick         # 2 seeds, fewer targets
    python bench/quality/adaptive.py --constant      # the earlier rule, for comparison

For every item, its answers are drawn in a random order (a seed), as the queue would hand the
task to whichever annotator comes next. The product's own functions run on each draw, as the
completing submit runs them (``services.consensus.on_submit``): the task's consensus with each
annotator's estimated accuracy (``quality.task.task_consensus``, ``quality.policy.
annotator_accuracy``), ``wants_more_labels`` on its posterior (take ``min_labels``, then one more
while the posterior is below the target, up to ``max_labels`` or the item's answers), and the
finished task's answers credited to their annotators (``quality.task.task_credit``). Reported
labels: the stored consensus (the pass mark), the unweighted majority of the drawn answers (what
an export recomputes), and the default inference over all drawn answers (the quality report).

Compared with majority vote over all answers (the bar) and with a fixed overlap of k random
answers per item (the curve adaptive overlap should beat). Prints a table per dataset, the
operating point, and writes an accuracy-versus-labels chart (SVG, written here: no matplotlib
needed) and bench/results/quality_adaptive.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

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
from labelhouse.quality.task import task_consensus, task_credit  # noqa: E402

TARGETS = [0.75, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995]
OPERATING = {"target_confidence": 0.99, "min_labels": 3, "max_labels": 15, "assumed_accuracy": 0.7}


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


def mv_all(answers: dict[str, list[tuple[str, str]]], options: list[str]) -> dict[str, str]:
    triples = [(i, w, lab) for i, given in answers.items() for w, lab in given]
    data = Answers.from_triples(triples, classes=options)
    result = get_method("mv").infer(data, seed=0)
    return {str(t): data.classes[int(result.labels[k])] for k, t in enumerate(data.tasks)}


def inferred(drawn: dict[str, list[tuple[str, str]]], options: list[str]) -> dict[str, str]:
    """The project's default inference over every drawn answer (what the quality report gives)."""
    triples = [(i, w, lab) for i, given in drawn.items() for w, lab in given]
    data = Answers.from_triples(triples, classes=options)
    result = get_method(DEFAULT_METHOD).infer(data, seed=0)
    return {str(t): data.classes[int(result.labels[k])] for k, t in enumerate(data.tasks)}


CONSTANT = False  # --constant: the rule before per-annotator estimates (every annotator at assumed_accuracy)


def replay(
    answers: dict[str, list[tuple[str, str]]], config: ChoicesConfig, policy: QualityPolicy, seed: int
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """Adaptive overlap on every item (items and their answers in a random order), as the
    product's completing submit runs it (``services.consensus.on_submit``): the task's consensus
    with each annotator's estimated accuracy from their record so far (``annotator_accuracy``),
    ``wants_more_labels`` on its posterior, and once the task is finished its answers credited to
    their annotators' records (``task_credit``). Returns the answers drawn and the stored label."""
    rng = random.Random(seed)
    record: dict[str, tuple[float, int]] = defaultdict(lambda: (0.0, 0))
    drawn: dict[str, list[tuple[str, str]]] = {}
    labels: dict[str, str] = {}
    items = sorted(answers)
    rng.shuffle(items)
    for item in items:
        order = list(answers[item])
        rng.shuffle(order)
        taken: list[tuple[str, str]] = []
        while True:
            taken.append(order.pop())
            pairs = [(w, {config.name: lab}) for w, lab in taken]
            accuracy = None if CONSTANT else {w: annotator_accuracy(*record[w], policy) for w, _l in taken}
            values, confidence = task_consensus([config], pairs, policy, accuracy)
            if not order or not wants_more_labels(policy, len(taken), confidence, 0):
                break
        drawn[item] = taken
        labels[item] = str(values[config.name]["value"])
        if accuracy is not None:
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


def run(names: list[str], seeds: list[int], targets: list[float]) -> dict[str, object]:
    out: dict[str, object] = {}
    base = QualityPolicy.parse(OPERATING)
    for name in names:
        answers, truth, options = prepare(name)
        truth = {i: t for i, t in truth.items() if i in answers}
        total = sum(len(v) for v in answers.values())
        bar = accuracy(mv_all(answers, options), truth)
        config = ChoicesConfig(name="label", type="choices", options=options)
        curve = []
        for target in targets:
            policy = QualityPolicy.parse({**OPERATING, "target_confidence": target})
            fractions, accs, mv_accs, ds_accs = [], [], [], []
            for seed in seeds:
                drawn, labels = replay(answers, config, policy, seed)
                fractions.append(sum(len(v) for v in drawn.values()) / total)
                accs.append(accuracy(labels, truth))
                mv_accs.append(accuracy(majority(drawn, options), truth))
                ds_accs.append(accuracy(inferred(drawn, options), truth))
            curve.append(
                {
                    "target": target,
                    "labels_fraction": mean(fractions),
                    "accuracy": mean(accs),
                    "accuracy_min": min(accs),
                    "accuracy_mv": mean(mv_accs),
                    "accuracy_inferred": mean(ds_accs),
                }
            )
        fixed_curve = []
        for k in (1, 2, 3, 4, 5, 7, 9, 11, 15):
            used, accs = 0, []
            for seed in seeds:
                used, labels = fixed(answers, options, k, seed)
                accs.append(accuracy(labels, truth))
            fixed_curve.append({"k": k, "labels_fraction": used / total, "accuracy_mv": mean(accs)})
        op = (
            next(c for c in curve if c["target"] == base.target_confidence)
            if base.target_confidence in targets
            else None
        )
        out[name] = {
            "items": len(answers),
            "answers": total,
            "mv_all": bar,
            "adaptive": curve,
            "fixed": fixed_curve,
            "operating_point": op,
        }
    return out


def print_report(results: dict[str, dict[str, object]]) -> bool:
    ok = True
    rule = "constant assumed accuracy (--constant)" if CONSTANT else "per-annotator estimates"
    print(f"operating point: {OPERATING}, {rule}")
    print(
        f"{'dataset':<14}{'items':>7}{'answers':>9}{'mv all':>9}{'labels':>9}{'stored':>9}{'min':>8}"
        f"{'maj':>8}{'infer':>8}  pass"
    )
    for name, r in results.items():
        op = r["operating_point"]
        assert isinstance(op, dict)
        short = r["mv_all"] - op["accuracy"]
        meets = short <= 1e-9 and op["labels_fraction"] <= 0.5
        ok &= bool(meets)
        why = "" if meets else (" (labels > 50%)" if op["labels_fraction"] > 0.5 else f" ({short:.2f} short)")
        print(
            f"{name:<14}{r['items']:>7}{r['answers']:>9}{r['mv_all']:>9.2f}{100 * op['labels_fraction']:>8.1f}%"
            f"{op['accuracy']:>9.2f}{op['accuracy_min']:>8.2f}{op['accuracy_mv']:>8.2f}{op['accuracy_inferred']:>8.2f}"
            f"  {'PASS' if meets else 'FAIL'}{why}"
        )
    print()
    print("accuracy (stored consensus) vs share of all answers used, per target confidence:")
    for name, r in results.items():
        cells = "  ".join(
            f"{c['target']}: {100 * c['labels_fraction']:.0f}% -> {c['accuracy']:.1f}"
            for c in r["adaptive"]  # type: ignore[union-attr]
        )
        fixed_cells = "  ".join(
            f"k={c['k']}: {100 * c['labels_fraction']:.0f}% -> {c['accuracy_mv']:.1f}"
            for c in r["fixed"]  # type: ignore[union-attr]
        )
        print(f"  {name:<13} adaptive  {cells}")
        print(f"  {'':<13} fixed k   {fixed_cells}")
    return ok


def svg_chart(results: dict[str, dict[str, object]], path: Path) -> None:
    """Small multiples: accuracy vs share of answers used, adaptive (solid) and fixed k (dashed),
    majority vote over all answers as a horizontal line."""
    names = list(results)
    cols = 3
    rows = (len(names) + cols - 1) // cols
    w, h, pad = 300, 220, 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * w}" height="{rows * h + 30}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{cols * w}" height="{rows * h + 30}" fill="white"/>',
        f'<text x="10" y="18" font-size="13">Adaptive overlap (solid, by target confidence) vs fixed k '
        f"labels (dashed); grey: majority vote over all answers. min_labels {OPERATING['min_labels']}, "
        f"assumed accuracy {OPERATING['assumed_accuracy']}</text>",
    ]
    for n, name in enumerate(names):
        r = results[name]
        ox, oy = (n % cols) * w, 30 + (n // cols) * h
        adaptive = [(c["labels_fraction"], c["accuracy"]) for c in r["adaptive"]]  # type: ignore[union-attr]
        fixed_pts = [(c["labels_fraction"], c["accuracy_mv"]) for c in r["fixed"]]  # type: ignore[union-attr]
        ys = [a for _f, a in adaptive + fixed_pts] + [float(r["mv_all"])]  # type: ignore[arg-type]
        lo, hi = min(ys) - 1, max(ys) + 1

        def px(f: float, a: float, ox: int = ox, oy: int = oy, lo: float = lo, hi: float = hi) -> str:
            x = ox + pad + f * (w - pad - 10)
            y = oy + h - pad - (a - lo) / (hi - lo) * (h - pad - 25)
            return f"{x:.1f},{y:.1f}"

        parts.append(f'<text x="{ox + pad}" y="{oy + 14}" font-weight="bold">{name}</text>')
        parts.append(
            f'<rect x="{ox + pad}" y="{oy + 20}" width="{w - pad - 10}" height="{h - pad - 20}" '
            'fill="none" stroke="#999"/>'
        )
        bar_y = px(0, float(r["mv_all"])).split(",")[1]  # type: ignore[arg-type]
        parts.append(
            f'<line x1="{ox + pad}" x2="{ox + w - 10}" y1="{bar_y}" y2="{bar_y}" stroke="#aaa" stroke-width="1.5"/>'
        )
        half = px(0.5, lo).split(",")[0]
        parts.append(
            f'<line x1="{half}" x2="{half}" y1="{oy + 20}" y2="{oy + h - pad}" stroke="#ccc" stroke-dasharray="2,2"/>'
        )
        parts.append(
            f'<polyline fill="none" stroke="#d62728" stroke-width="2" points="{" ".join(px(f, a) for f, a in adaptive)}"/>'
        )
        parts.append(
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" stroke-dasharray="5,3" '
            f'points="{" ".join(px(f, a) for f, a in fixed_pts)}"/>'
        )
        for f, a in adaptive:
            x, y = px(f, a).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="#d62728"/>')
        for tick in (0, 0.25, 0.5, 0.75, 1.0):
            x = px(tick, lo).split(",")[0]
            parts.append(
                f'<text x="{x}" y="{oy + h - pad + 13}" text-anchor="middle">{int(tick * 100)}%</text>'
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
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument(
        "--constant", action="store_true", help="the earlier rule: every annotator at assumed_accuracy"
    )
    p.add_argument("--chart", type=Path, default=ROOT / "docs" / "img" / "adaptive_overlap.svg")
    a = p.parse_args()
    global CONSTANT
    CONSTANT = a.constant
    seeds = list(range(2 if a.quick else a.seeds))
    targets = [0.85, 0.95, 0.99] if a.quick else TARGETS
    names = eligible()
    started = time.perf_counter()
    results = run(names, seeds, targets)
    ok = print_report(results)  # type: ignore[arg-type]
    svg_chart(results, a.chart)  # type: ignore[arg-type]
    print(f"\n{len(names)} datasets, seeds {seeds}, {time.perf_counter() - started:.1f} s; chart: {a.chart}")
    print(
        "all datasets reach majority vote over all answers with at most half of them:",
        "PASS" if ok else "FAIL",
    )
    out = ROOT / "bench" / "results" / "quality_adaptive.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"operating": OPERATING, "constant": CONSTANT, "seeds": seeds, "results": results}, indent=1
        )
    )


if __name__ == "__main__":
    main()
