"""Adaptive overlap replayed on the real crowd datasets with >= 10 answers per item.

    python bench/quality/adaptive.py                 # all such datasets, 5 seeds, chart in docs/img/
    python bench/quality/adaptive.py --quick         # 2 seeds, fewer targets

For every item, its answers are drawn in a random order (a seed), as the queue would hand the
task to whichever annotator comes next. The product's own decision runs on each draw
(``labelhouse.quality.policy.wants_more_labels`` on ``choice_posterior`` with the policy's
assumed accuracy): take ``min_labels``, then one more while the posterior is below the target,
up to ``max_labels`` or the item's answers. The label is the posterior's argmax (= majority vote
of the drawn answers) and, as the product's report would give, ``ds_map`` over all drawn answers.

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

from labelhouse.quality import Answers, get_method  # noqa: E402
from labelhouse.quality.policy import (  # noqa: E402
    QualityPolicy,
    annotator_accuracy,
    choice_posterior,
    wants_more_labels,
)

TARGETS = [0.75, 0.85, 0.9, 0.95, 0.97, 0.99, 0.995]
OPERATING = {"target_confidence": 0.95, "min_labels": 3, "max_labels": 15, "assumed_accuracy": 0.7}


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


def ds_map(drawn: dict[str, list[tuple[str, str]]], options: list[str]) -> dict[str, str]:
    triples = [(i, w, lab) for i, given in drawn.items() for w, lab in given]
    data = Answers.from_triples(triples, classes=options)
    result = get_method("ds_map").infer(data, seed=0)
    return {str(t): data.classes[int(result.labels[k])] for k, t in enumerate(data.tasks)}


RELIABILITY = False  # --reliability: per-annotator accuracy estimates (a prototype, not in the product)


def replay(
    answers: dict[str, list[tuple[str, str]]], options: list[str], policy: QualityPolicy, seed: int
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """Adaptive overlap on every item (in a random order): the answers drawn, and the posterior's
    label. As in the product, every annotator is assumed right with ``assumed_accuracy``; with
    ``--reliability``, each annotator's accuracy is instead estimated from how often their answers
    agreed with the final consensus of the items finished before (``annotator_accuracy``)."""
    rng = random.Random(seed)
    drawn: dict[str, list[tuple[str, str]]] = {}
    labels: dict[str, str] = {}
    stats = AnnotatorStats(policy)
    items = sorted(answers)
    rng.shuffle(items)
    for item in items:
        order = list(answers[item])
        rng.shuffle(order)
        taken: list[tuple[str, str]] = []
        confidence: float | None = None
        while order and (not taken or wants_more_labels(policy, len(taken), confidence, 0)):
            taken.append(order.pop())
            value, confidence = choice_posterior(
                [lab for _w, lab in taken], options, [stats.accuracy(w) for w, _l in taken]
            )
        drawn[item] = taken
        labels[item] = str(value)
        stats.record(taken, str(value))
    return drawn, labels


class AnnotatorStats:
    """Per annotator: answers that agreed with their task's final consensus, of those counted."""

    def __init__(self, policy: QualityPolicy) -> None:
        self.policy = policy
        self.agree: dict[str, int] = defaultdict(int)
        self.total: dict[str, int] = defaultdict(int)

    def accuracy(self, worker: str) -> float:
        if not RELIABILITY:
            return self.policy.assumed_accuracy
        return annotator_accuracy(self.agree[worker], self.total[worker], self.policy)

    def record(self, taken: list[tuple[str, str]], value: str) -> None:
        if len(taken) < 2:
            return
        for worker, label in taken:
            self.agree[worker] += int(label == value)
            self.total[worker] += 1


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
        curve = []
        for target in targets:
            policy = QualityPolicy.parse({**OPERATING, "target_confidence": target})
            fractions, accs, ds_accs = [], [], []
            for seed in seeds:
                drawn, labels = replay(answers, options, policy, seed)
                fractions.append(sum(len(v) for v in drawn.values()) / total)
                accs.append(accuracy(labels, truth))
                ds_accs.append(accuracy(ds_map(drawn, options), truth))
            curve.append(
                {
                    "target": target,
                    "labels_fraction": mean(fractions),
                    "accuracy_mv": mean(accs),
                    "accuracy_ds_map": mean(ds_accs),
                    "accuracy_mv_min": min(accs),
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
    print(f"operating point: {OPERATING}")
    print(
        f"{'dataset':<14}{'items':>7}{'answers':>9}{'mv all':>9}{'labels':>9}{'acc mv':>9}{'min':>8}{'acc ds':>9}  pass"
    )
    for name, r in results.items():
        op = r["operating_point"]
        assert isinstance(op, dict)
        meets = op["accuracy_mv"] >= r["mv_all"] - 1e-9 and op["labels_fraction"] <= 0.5
        best = max(op["accuracy_mv"], op["accuracy_ds_map"])
        ok &= bool(meets)
        print(
            f"{name:<14}{r['items']:>7}{r['answers']:>9}{r['mv_all']:>9.2f}{100 * op['labels_fraction']:>8.1f}%"
            f"{op['accuracy_mv']:>9.2f}{op['accuracy_mv_min']:>8.2f}{op['accuracy_ds_map']:>9.2f}  "
            f"{'PASS' if meets else 'FAIL'}{' (ds_map: ' + format(best, '.2f') + ')' if not meets else ''}"
        )
    print()
    print("accuracy (majority of drawn answers) vs share of all answers used, per target confidence:")
    for name, r in results.items():
        cells = "  ".join(
            f"{c['target']}: {100 * c['labels_fraction']:.0f}% -> {c['accuracy_mv']:.1f}"
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
        adaptive = [(c["labels_fraction"], c["accuracy_mv"]) for c in r["adaptive"]]  # type: ignore[union-attr]
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
    p.add_argument("--reliability", action="store_true", help="per-annotator accuracy (prototype)")
    p.add_argument("--chart", type=Path, default=ROOT / "docs" / "img" / "adaptive_overlap.svg")
    a = p.parse_args()
    global RELIABILITY
    RELIABILITY = a.reliability
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
            {"operating": OPERATING, "reliability": RELIABILITY, "seeds": seeds, "results": results}, indent=1
        )
    )


if __name__ == "__main__":
    main()
