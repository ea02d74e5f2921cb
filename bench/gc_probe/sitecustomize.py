"""The cyclic garbage collector's passes in ``labelhouse serve``: a probe for benchmarks only.

Put this folder first on PYTHONPATH and set LH_GC_PROBE=/path/out.jsonl; every process started
with that environment imports it, and it acts only in the one whose command line has ``serve``.
Once a second it appends one JSON line: the wall clock, the passes and seconds so far per
generation (``gc`` = [[count, seconds] x 3]), the current thresholds, and every tenth second the
number of objects in the oldest generation. A new server starts its counts again from zero.

    LH_GC_PROBE=/tmp/gc.jsonl python bench/export_ab.py FOLDER \\
        --code bench/gc_probe:/work/main --code bench/gc_probe:. --rounds 2

Measurement only: not part of the product (docs/performance.md, "Bulk import and export on a
busy machine").
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from typing import Any

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # bench/: probe_target
from probe_target import is_server  # noqa: E402

OUT = os.environ.get("LH_GC_PROBE", "")


def _install(out: str) -> None:
    passes: list[list[float]] = [[0, 0.0], [0, 0.0], [0, 0.0]]
    started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            generation = passes[info["generation"]]
            generation[0] += 1
            generation[1] += time.perf_counter() - started[0]

    gc.callbacks.append(on_gc)

    def write() -> None:
        while True:
            time.sleep(1.0)
            now = time.time()
            oldest = len(gc.get_objects(2)) if int(now) % 10 == 0 else None
            line = {"t": now, "gc": passes, "thr": gc.get_threshold(), "n2": oldest}
            with open(out, "a") as fh:
                fh.write(json.dumps(line) + "\n")

    threading.Thread(target=write, name="gc-probe", daemon=True).start()


if OUT and is_server():
    _install(OUT)
