"""How well each method's confidence matches how often its label is right, on the real crowd
datasets with truth.

    LABELHOUSE_SHARED=/path/to/shared python bench/quality/calibration.py [--methods mv ds_vb ...]

Per method, over the items with truth of every dataset: the expected calibration error (ECE: ten
bins of confidence, the gap between mean confidence and accuracy in each, weighted by the bin's
share of items), and how often the label is right among the items it is at least 99 % sure of
(and what share of the items those are). Printed per dataset and as the mean over datasets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasets import dataset_names, load  # noqa: E402

from labelhouse.quality import Answers, get_method  # noqa: E402

METHODS = ["mv", "wawa", "ds", "ds_map", "ds_vb", "one_coin", "glad", "mace"]


def calibration(right: np.ndarray, confidence: np.ndarray) -> tuple[float, float, float]:
    """(ECE, accuracy among confidence >= 0.99, share of items at >= 0.99)."""
    bins = np.minimum((confidence * 10).astype(int), 9)
    ece = 0.0
    for b in range(10):
        inside = bins == b
        if inside.any():
            ece += abs(float(right[inside].mean()) - float(confidence[inside].mean())) * float(inside.mean())
    sure = confidence >= 0.99
    return ece, float(right[sure].mean()) if sure.any() else float("nan"), float(sure.mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="*", default=METHODS)
    a = p.parse_args()
    totals: dict[str, list[tuple[float, float, float]]] = {m: [] for m in a.methods}
    print(f"{'dataset':<16}" + "".join(f"{m:>24}" for m in a.methods))
    for name in dataset_names():
        rows, truth = load(name)
        last = {(i, w): lab for i, w, lab in rows}  # a worker's last answer to an item counts
        classes = sorted({lab for _i, _w, lab in rows} | set(truth.values()))
        data = Answers.from_triples([(i, w, lab) for (i, w), lab in last.items()], classes=classes)
        index = {t: k for k, t in enumerate(data.tasks)}
        known = [(index[t], v) for t, v in truth.items() if t in index]
        cells = []
        for method in a.methods:
            result = get_method(method).infer(data, seed=0)
            right = np.array([data.classes[int(result.labels[k])] == v for k, v in known])
            confidence = np.array([float(result.confidence[k]) for k, _v in known])
            ece, sure_right, sure_share = calibration(right, confidence)
            totals[method].append((ece, sure_right, sure_share))
            cells.append(f"{ece:.3f} {100 * sure_right:5.1f}%/{100 * sure_share:3.0f}%")
        print(f"{name:<16}" + "".join(f"{c:>24}" for c in cells), flush=True)
    print("\nmean over datasets: ECE, right among the items at >= 0.99 / their share")
    for method, figures in totals.items():
        arr = np.array(figures)
        print(
            f"  {method:<10} ECE {arr[:, 0].mean():.3f}   right at >= 0.99: {100 * np.nanmean(arr[:, 1]):.1f}% "
            f"of {100 * arr[:, 2].mean():.0f}% of the items"
        )


if __name__ == "__main__":
    main()
