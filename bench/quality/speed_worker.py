"""One timed Dawid-Skene fit in a fresh process: ours or Crowd-Kit's, on the seeded synthetic set.

Prints one JSON line: seconds, iterations, accuracy, peak RSS growth during the fit (getrusage)
and the tracemalloc peak of the fit. Input building is not timed, for either side."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("impl", choices=["ours", "ours_map", "ours_vb", "crowdkit"])
    ap.add_argument("data", help=".npz written by synthetic.save (task, worker, label, truth)")
    ap.add_argument(
        "--tracemalloc", action="store_true", help="trace allocations (slower; RSS is the default)"
    )
    args = ap.parse_args()
    s = dict(np.load(args.data))
    if args.impl == "crowdkit":
        import pandas as pd
        from crowdkit.aggregation import DawidSkene

        data = pd.DataFrame({"task": s["task"], "worker": s["worker"], "label": s["label"]})

        def run() -> tuple[object, int]:
            model = DawidSkene().fit(data)
            labels = model.labels_.sort_index().to_numpy()
            return labels, len(model.loss_history_)
    else:
        from labelhouse.quality import Answers, get_method

        answers = Answers.from_codes(s["task"], s["worker"], s["label"])
        method = get_method({"ours": "ds", "ours_map": "ds_map", "ours_vb": "ds_vb"}[args.impl])

        def run() -> tuple[object, int]:
            r = method.infer(answers)
            return r.labels, r.iterations

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.tracemalloc:
        tracemalloc.start()
    t0 = time.perf_counter()
    labels, iterations = run()
    seconds = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {
        "impl": args.impl,
        "answers": int(s["task"].size),
        "seconds": round(seconds, 3),
        "iterations": iterations,
        "accuracy": float(np.mean(np.asarray(labels) == s["truth"])),
        "rss_growth_mb": round((peak - base) / 1024, 1),
        "tracemalloc_peak_mb": None if traced is None else round(traced / 2**20, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
