"""Dawid-Skene speed and peak memory on the seeded synthetic set, ours vs Crowd-Kit's.

    python bench/quality/speed.py            # 1,000,000 answers: 200,000 tasks x 5, 2,000 workers, 5 classes
    python bench/quality/speed.py --quick    # 100,000 answers

Each fit runs in a fresh process (speed_worker.py) that loads the arrays, builds its input
(not timed), then times the fit and reads the peak RSS growth (getrusage); a second run under
tracemalloc gives the peak of traced allocations. Targets: >= 10x faster, less peak memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE.parent / ".work"
CK_PYTHON = WORK / "ckvenv" / "bin" / "python"
sys.path.insert(0, str(HERE))

from synthetic import save  # noqa: E402


def run(python: Path | str, impl: str, data: Path, traced: bool) -> dict[str, object]:
    cmd = [str(python), str(HERE / "speed_worker.py"), impl, str(data)] + (
        ["--tracemalloc"] if traced else []
    )
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    tasks = 20_000 if args.quick else 200_000
    WORK.mkdir(parents=True, exist_ok=True)
    data = WORK / f"synthetic_{tasks}.npz"
    if not data.exists():
        save(str(data), tasks, seed=0)
    impls = [(sys.executable, "ours"), (sys.executable, "ours_map"), (sys.executable, "ours_vb")]
    if CK_PYTHON.exists():
        impls.append((CK_PYTHON, "crowdkit"))
    else:
        print(f"Crowd-Kit not found ({CK_PYTHON}); see bench/quality/README.md. Ours only.")
    rows = []
    for python, impl in impls:
        r = run(python, impl, data, traced=False)
        r["tracemalloc_peak_mb"] = run(python, impl, data, traced=True)["tracemalloc_peak_mb"]
        rows.append(r)
    print(
        f"{'impl':10}{'answers':>10}{'seconds':>9}{'iters':>7}{'s/iter':>8}{'accuracy':>10}{'RSS+ MB':>9}{'traced MB':>11}"
    )
    for r in rows:
        per = float(r["seconds"]) / max(int(r["iterations"]), 1)  # type: ignore[arg-type]
        print(
            f"{r['impl']:10}{r['answers']:>10}{r['seconds']:>9}{r['iterations']:>7}{per:>8.3f}"
            f"{r['accuracy']:>10.4f}{r['rss_growth_mb']:>9}{r['tracemalloc_peak_mb']:>11}"
        )
    summary: dict[str, object] = {"bench": "quality_speed", "answers": rows[0]["answers"], "runs": rows}
    ck = next((r for r in rows if r["impl"] == "crowdkit"), None)
    if ck:
        ours = rows[0]
        summary["speedup"] = float(ck["seconds"]) / float(ours["seconds"])  # type: ignore[arg-type]
        summary["memory_ratio_rss"] = float(ck["rss_growth_mb"]) / max(float(ours["rss_growth_mb"]), 0.1)  # type: ignore[arg-type]
        summary["memory_ratio_traced"] = float(ck["tracemalloc_peak_mb"]) / float(ours["tracemalloc_peak_mb"])  # type: ignore[arg-type]
        print(
            f"\nds is {summary['speedup']:.1f}x faster than Crowd-Kit's DawidSkene; peak memory "
            f"{summary['memory_ratio_traced']:.1f}x less (traced), {summary['memory_ratio_rss']:.1f}x less (RSS growth)"
        )
    line = json.dumps(summary)
    out = HERE.parent / "results"
    out.mkdir(exist_ok=True)
    (out / "quality_speed.json").write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
