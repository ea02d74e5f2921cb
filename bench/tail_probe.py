#!/usr/bin/env python3
"""Read what bench/tail_probe/sitecustomize.py recorded in the server during a loop.

    LH_TAIL_PROBE=/tmp/probe.json PYTHONPATH=bench/tail_probe:. python bench/loop.py --tasks 20000 --seconds 15
    python bench/tail_probe.py /tmp/probe.json

Prints, over the span of the fast-lane calls: GC passes per generation (count, total and longest
pause), the calls' latency on the server (p50/p99/max; CPU vs wall of the calls over 10 ms, and
their context switches: involuntary ones mean the process was preempted, voluntary ones that it
waited for a lock or I/O), how many slow calls overlapped a WAL checkpoint, and the write-lock
holds per thread (an event-loop call waits for any other thread's hold).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import Any


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def report(doc: dict[str, Any]) -> None:
    calls = doc["calls"]
    if not calls:
        print("no fast-lane calls recorded")
        return
    t0, t1 = calls[0][0] - calls[0][2], calls[-1][0]
    print(f"span {t1 - t0:.1f} s, {len(calls)} calls")
    for gen in range(3):
        pauses = [g[2] * 1000 for g in doc["gc"] if t0 <= g[0] <= t1 and g[1] == gen]
        if pauses:
            print(
                f"  gc gen {gen}: {len(pauses)} passes, {sum(pauses):.1f} ms in all, longest {max(pauses):.2f} ms"
            )
    for name in sorted({c[1] for c in calls}):
        wall = [c[2] * 1000 for c in calls if c[1] == name]
        print(f"  {name}: p50 {pct(wall, 0.5):.2f} ms, p99 {pct(wall, 0.99):.2f} ms, max {max(wall):.1f} ms")
    slow = [c for c in calls if c[2] > 0.010]
    if slow:
        print(
            f"  calls over 10 ms: {len(slow)}; their CPU {sum(c[3] for c in slow) * 1000:.0f} ms of "
            f"{sum(c[2] for c in slow) * 1000:.0f} ms wall; context switches voluntary "
            f"{sum(c[4] for c in slow)}, involuntary {sum(c[5] for c in slow)}"
        )
        checkpoints = [k for k in doc["checkpoints"] if t0 <= k[0] <= t1]
        overlapping = sum(
            1 for c in slow if any(k[0] - k[1] < c[0] and k[0] > c[0] - c[2] for k in checkpoints)
        )
        share = sum(k[1] for k in checkpoints) / (t1 - t0)
        print(
            f"  checkpoints: {len(checkpoints)} (running {share:.1%} of the time); "
            f"slow calls overlapping one: {overlapping} of {len(slow)}"
        )
    holds: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for end, thread, waited, held in doc["locks"]:
        if t0 <= end <= t1:
            holds[thread].append((waited, held))
    for thread, hs in holds.items():
        print(
            f"  write lock, {thread}: {len(hs)} holds, longest {max(h[1] for h in hs) * 1000:.1f} ms, "
            f"waited {sum(h[0] for h in hs) * 1000:.1f} ms in all"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    with open(p.parse_args().file) as fh:
        report(json.load(fh))


if __name__ == "__main__":
    main()
