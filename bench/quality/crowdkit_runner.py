"""Run Crowd-Kit's aggregators on the shared crowd datasets; one JSON line per (dataset, method).

Runs in the bench-only environment that has crowd-kit (see bench/quality/README.md); crowd-kit is
not a dependency of labelhouse. Usage: python crowdkit_runner.py [--datasets a,b] [--methods X,Y]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasets import dataset_names, load  # noqa: E402

METHODS = [
    "MajorityVote",
    "Wawa",
    "ZeroBasedSkill",
    "DawidSkene",
    "OneCoinDawidSkene",
    "GLAD",
    "MACE",
    "MMSR",
    "KOS",
]


def main() -> None:
    import pandas as pd
    from crowdkit import aggregation

    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument(
        "--slow-limit",
        type=int,
        default=50_000,
        help="skip GLAD, MACE and MMSR on datasets with more answers than this (they take many minutes there)",
    )
    args = ap.parse_args()
    names = args.datasets.split(",") if args.datasets else dataset_names()
    for name in names:
        rows, truth = load(name)
        df = pd.DataFrame(rows, columns=["task", "worker", "label"]).drop_duplicates(
            ["task", "worker"], keep="last"
        )
        n_classes = df["label"].nunique()
        for method in args.methods.split(","):
            if method == "KOS" and n_classes != 2:
                continue
            if method in ("GLAD", "MACE", "MMSR") and len(df) > args.slow_limit:
                print(
                    json.dumps({"dataset": name, "method": method, "accuracy": None, "skipped": "too slow"})
                )
                continue
            t0 = time.perf_counter()
            try:
                labels = getattr(aggregation, method)().fit_predict(df)
                hits = [labels.get(item) == lab for item, lab in truth.items() if item in labels.index]
                acc: float | None = sum(hits) / len(hits)
                error = None
            except Exception as exc:  # noqa: BLE001 - report any library failure as data
                acc, error = None, f"{type(exc).__name__}: {exc}"[:200]
            out = {"dataset": name, "method": method, "accuracy": acc, "seconds": time.perf_counter() - t0}
            if error:
                out["error"] = error
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
