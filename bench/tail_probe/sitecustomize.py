"""Where the labeling loop's slow calls go: a probe loaded into ``labelhouse serve`` only.

Put this folder first on PYTHONPATH and set LH_TAIL_PROBE=/path/out.json; every process started
with that environment imports it, and it acts only in the one whose command line has ``serve``.
It records, with ``time.perf_counter`` timestamps, every cyclic-GC pass (generation, duration),
every fast-lane call (``next``/``submit``: wall time, the thread's CPU time, voluntary and
involuntary context switches), every WAL checkpoint of ``WalCheckpointer`` and every hold of
SQLite's in-process write lock (which thread, how long it waited and held it). The file is
rewritten every 2 s (uvicorn re-raises SIGTERM, so ``atexit`` does not run). Read it with
``python bench/tail_probe.py OUT.json``. Measurement only: not part of the product.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # bench/: probe_target
from probe_target import is_server  # noqa: E402

OUT = os.environ.get("LH_TAIL_PROBE", "")


def _install(out: str) -> None:
    import labelhouse.api.fastlane as fastlane
    import labelhouse.storage.database as database

    gcs: list[tuple[float, int, float]] = []
    calls: list[tuple[float, str, float, float, int, int]] = []
    checkpoints: list[tuple[float, float]] = []
    locks: list[tuple[float, str, float, float]] = []
    started: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            started["gc"] = now
        else:
            gcs.append((now, info["generation"], now - started.get("gc", now)))

    gc.callbacks.append(on_gc)
    hot_call = fastlane.hot_call

    async def timed(rt: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        r0 = resource.getrusage(resource.RUSAGE_THREAD)
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return await hot_call(rt, fn, *args, **kwargs)
        finally:
            t1 = time.perf_counter()
            r1 = resource.getrusage(resource.RUSAGE_THREAD)
            calls.append(
                (
                    t1,
                    fn.__name__,
                    t1 - t0,
                    time.thread_time() - c0,
                    r1.ru_nvcsw - r0.ru_nvcsw,
                    r1.ru_nivcsw - r0.ru_nivcsw,
                )
            )

    fastlane.hot_call = timed  # type: ignore[assignment]

    def run(self: Any) -> None:  # WalCheckpointer._run, timed
        conn = None
        while not self._stop.wait(self.EVERY):
            try:
                if conn is None:
                    uri = f"file:{quote(self._path)}?mode=rw"
                    conn = sqlite3.connect(uri, uri=True, timeout=0.1, check_same_thread=False)
                a = time.perf_counter()
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                b = time.perf_counter()
                checkpoints.append((b, b - a))
            except sqlite3.Error:
                pass

    database.WalCheckpointer._run = run  # type: ignore[method-assign]

    @contextlib.contextmanager
    def turn(self: Any, write: bool) -> Iterator[None]:
        if not (write and self.is_sqlite):
            yield
            return
        a = time.perf_counter()
        with self._write_lock:
            b = time.perf_counter()
            try:
                yield
            finally:
                c = time.perf_counter()
                locks.append((c, threading.current_thread().name, b - a, c - b))

    database.Database._turn = turn  # type: ignore[method-assign]

    def dump() -> None:
        doc = {"gc": gcs, "calls": calls, "checkpoints": checkpoints, "locks": locks}
        with open(out + ".tmp", "w") as fh:
            json.dump(doc, fh)
        os.replace(out + ".tmp", out)

    def every_two_seconds() -> None:
        while True:
            time.sleep(2)
            dump()

    threading.Thread(target=every_two_seconds, name="tail-probe", daemon=True).start()


if OUT and is_server():
    try:
        _install(OUT)
    except Exception as exc:  # noqa: BLE001 - a probe must never stop the server
        print(f"tail probe not installed: {exc}", file=sys.stderr)
