"""Accuracy of every registered method on the shared crowd datasets, next to Crowd-Kit's.

    python bench/quality/accuracy.py                       # ours + Crowd-Kit (bench venv), all datasets
    python bench/quality/accuracy.py --quick               # small datasets, no GLAD/MACE on Crowd-Kit's side
    python bench/quality/accuracy.py --crowdkit-results bench/.work/ck_acc.jsonl   # reuse a Crowd-Kit run

Prints a dataset x method table (percent of items with truth whose inferred label is right),
the average per method, then one JSON line (also written to bench/results/quality_accuracy.json).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datasets import dataset_names, load  # noqa: E402

from labelhouse.quality import DEFAULT_METHOD, Answers, get_method, method_names  # noqa: E402

CK_PYTHON = HERE.parent / ".work" / "ckvenv" / "bin" / "python"
QUICK = ["bluebirds", "cf", "dog", "rte", "temp", "wsd"]


def ours(names: list[str]) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {m: 0.0 for m in method_names()}
    for name in names:
        rows, truth = load(name)
        a = Answers.from_triples(rows)
        with_truth = [(i, truth[t]) for i, t in enumerate(a.tasks) if t in truth]
        idx = np.array([i for i, _ in with_truth])
        table[name] = {}
        for method in method_names():
            t0 = time.perf_counter()
            labels = get_method(method).infer(a).labels
            seconds[method] += time.perf_counter() - t0
            predicted = [a.classes[c] for c in labels[idx]]
            table[name][method] = 100 * float(
                np.mean([p == t for p, (_, t) in zip(predicted, with_truth, strict=True)])
            )
    return table, seconds


def crowdkit(names: list[str], args: argparse.Namespace) -> dict[str, dict[str, float | None]]:
    if args.crowdkit_results:
        lines = Path(args.crowdkit_results).read_text().splitlines()
    elif CK_PYTHON.exists():
        cmd = [str(CK_PYTHON), str(HERE / "crowdkit_runner.py"), "--datasets", ",".join(names)]
        if args.quick:
            cmd += ["--methods", "MajorityVote,Wawa,DawidSkene,OneCoinDawidSkene,MMSR"]
        lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    else:
        print(f"Crowd-Kit not found ({CK_PYTHON}); see bench/quality/README.md. Ours only.")
        return {}
    table: dict[str, dict[str, float | None]] = {}
    for line in lines:
        r = json.loads(line)
        if r["dataset"] in names:
            acc = r.get("accuracy")
            table.setdefault(r["dataset"], {})["ck_" + r["method"]] = None if acc is None else 100 * acc
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--crowdkit-results", default=None, help="JSONL from crowdkit_runner.py to reuse")
    args = ap.parse_args()
    names = [n for n in dataset_names() if not args.quick or n in QUICK]
    table, seconds = ours(names)
    ck = crowdkit(names, args)
    columns = method_names() + sorted({m for row in ck.values() for m in row}, key=lambda m: m.lower())
    print(f"{'dataset':16}" + "".join(f"{c[:10]:>11}" for c in columns))
    averages: dict[str, float | None] = {}
    for name in names:
        row = {**table[name], **ck.get(name, {})}
        print(
            f"{name:16}"
            + "".join(f"{row[c]:11.2f}" if row.get(c) is not None else f"{'-':>11}" for c in columns)
        )
    full = {n: {**table[n], **ck.get(n, {})} for n in names}
    for c in columns:
        values = [full[n].get(c) for n in names]
        averages[c] = None if any(v is None for v in values) else float(np.mean(values))  # type: ignore[arg-type]
    # Crowd-Kit's GLAD and MACE are skipped on the largest sets: also average where every column ran
    common = [n for n in names if all(full[n].get(c) is not None for c in columns)]
    common_avg = {c: float(np.mean([full[n][c] for n in common])) if common else None for c in columns}

    def show(label: str, values: dict[str, float | None]) -> None:
        print(
            f"{label:16}"
            + "".join(f"{values[c]:11.2f}" if values[c] is not None else f"{'-':>11}" for c in columns)
        )

    show("average", averages)
    show(f"avg ({len(common)} all ran)", common_avg)
    complete_ck = [(v, c) for c, v in averages.items() if c.startswith("ck_") and v is not None]
    best_ck = max(complete_ck) if complete_ck else None
    ds_variants = [m for m in ("ds", "ds_map", "ds_vb") if m in method_names()]
    ds_gaps = {
        m: {
            n: table[n][m] - float(full[n]["ck_DawidSkene"])  # type: ignore[arg-type]
            for n in names
            if full[n].get("ck_DawidSkene") is not None
        }
        for m in ds_variants
    }
    ds_gap = ds_gaps.get("ds", {})
    summary = {
        "bench": "quality_accuracy",
        "datasets": names,
        "default": DEFAULT_METHOD,
        "average": averages,
        "seconds_ours": seconds,
        "best_crowdkit": best_ck,
        "default_minus_best_crowdkit": None if best_ck is None else averages[DEFAULT_METHOD] - best_ck[0],  # type: ignore[operator]
        "ds_minus_crowdkit_ds": ds_gap,
        "variants_minus_crowdkit_ds": ds_gaps,
        "average_where_all_ran": common_avg,
        "table": full,
    }
    if best_ck:
        print(
            f"\ndefault {DEFAULT_METHOD}: {averages[DEFAULT_METHOD]:.2f} vs Crowd-Kit's best {best_ck[1]}: {best_ck[0]:.2f}"
        )
    for m, gaps in ds_gaps.items():
        if gaps:
            misses = {n: g for n, g in gaps.items() if g < -0.5}
            print(
                f"{m} - Crowd-Kit DS: more than 0.5 below on {len(misses)} of {len(gaps)} datasets"
                + (": " + ", ".join(f"{n} {g:+.2f}" for n, g in misses.items()) if misses else "")
            )
    line = json.dumps(summary)
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    (out / "quality_accuracy.json").write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
