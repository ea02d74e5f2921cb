"""Our Dawid-Skene vs Crowd-Kit's, dataset by dataset, at Crowd-Kit's own iteration count and converged.

Runs in the bench venv that has crowd-kit: bench/.work/ckvenv/bin/python bench/quality/ds_parity.py

Crowd-Kit's DawidSkene stops when its "ELBO" per answer gains less than 1e-5; that quantity adds
the log prior once per answer instead of once per task, is not monotone under EM, and so stops
after 2-16 iterations, long before the likelihood converges. Early stopping is a regulariser on
sparse data. This table separates the two effects: same iterations (the algorithms agree) vs
converged (what the model gives).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import numpy as np  # noqa: E402
from datasets import dataset_names, load  # noqa: E402

from labelhouse.quality import Answers, fit_dawid_skene  # noqa: E402


def accuracy(labels: dict[str, str], truth: dict[str, str]) -> float:
    return 100 * float(np.mean([labels.get(i) == t for i, t in truth.items() if i in labels]))


def ours(a: Answers, truth: dict[str, str], max_iter: int, tol: float) -> tuple[float, int]:
    fit = fit_dawid_skene(a, max_iter=max_iter, tol=tol)
    labels = {a.tasks[i]: a.classes[c] for i, c in enumerate(fit.posteriors.argmax(1))}
    return accuracy(labels, truth), fit.iterations


def main() -> None:
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    warnings.filterwarnings("ignore")
    print(f"{'dataset':16}{'ck DS':>8}{'ck iters':>9}{'ours@same':>10}{'ours conv':>10}{'iters':>6}")
    rows = []
    for name in dataset_names():
        answers, truth = load(name)
        df = pd.DataFrame(answers, columns=["task", "worker", "label"]).drop_duplicates(
            ["task", "worker"], keep="last"
        )
        ck = DawidSkene().fit(df)
        ck_labels = ck.labels_.to_dict()
        a = Answers.from_triples(answers)

        same, _ = ours(a, truth, len(ck.loss_history_), -np.inf)
        conv, iters = ours(a, truth, 100, 1e-5)
        row = {
            "dataset": name,
            "ck": accuracy(ck_labels, truth),
            "ck_iterations": len(ck.loss_history_),
            "same": same,
            "converged": conv,
            "iterations": iters,
        }
        rows.append(row)
        print(
            f"{name:16}{row['ck']:8.2f}{row['ck_iterations']:9}{same:10.2f}{conv:10.2f}{iters:6}", flush=True
        )
    gaps = [abs(r["same"] - r["ck"]) for r in rows]
    print(f"max |ours@same - ck| = {max(gaps):.2f} points")
    print(json.dumps({"bench": "quality_ds_parity", "rows": rows, "max_gap_same_iterations": max(gaps)}))


if __name__ == "__main__":
    main()
