#!/usr/bin/env python3
"""The labeling loop under load: N concurrent annotators doing next + submit for D seconds.

    python bench/loop.py                       # labelhouse on SQLite, 32 annotators, 100,000 tasks, 30 s
    python bench/loop.py --database postgresql # the same on a fresh PostgreSQL database
    python bench/loop.py --scale 10000,100000,1000000   # throughput vs project size (fresh server each)
    python bench/loop.py --peer labelstudio --peer-url http://127.0.0.1:8080 --peer-token T --peer-pid PID
    python bench/loop.py --quick               # 5,000 tasks, 5 s: a smoke run

Each annotator is its own user with its own token and one keep-alive connection. The load
generator is one asyncio process with a hand-written HTTP/1.1 client (benchlib.Conn), ~50-100 us
of CPU per request; its own CPU use is measured and printed so that you can see it is not the
bottleneck. Projects above 20,000 tasks are filled with ``labelhouse import`` (the fast path)
before the loop; the import is not part of the loop's figures.

Double assignment is checked three ways, all reported:
  * concurrent: next handed a task that another annotator held (between its next and its submit);
  * served to >1 annotator: over the whole run (leases last 15 min, so with overlap 1 any re-serve is one);
  * server-side after the run: tasks whose export has more annotations than the overlap, and the
    database's own counts (labelhouse only; bench/lh_admin.py check).

Every loop is bounded by --seconds and --max-submits; the servers it starts are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    RESULTS_DIR,
    Conn,
    HttpError,
    Sampler,
    check,
    emit_json,
    fsync_probe,
    host_info,
    lat_summary,
    machine_busy_cpu,
    new_event_loop,
    print_table,
    proc_cpu,
    self_cpu,
    summarize_profile,
)
from systems import LABELS, LabelhouseSystem, ProjectRef, System, add_peer_args, make_peer  # noqa: E402

TARGET_SUBMITS_PER_S = 500
TARGET_NEXT_P99_MS = 50
MAX_ERROR_EXAMPLES = 5


async def _loop(
    system: System,
    project: ProjectRef,
    tokens: list[str],
    seconds: float,
    max_submits: int,
    seed: int,
    window_s: float,
) -> dict[str, Any]:
    lat_next: list[float] = []
    lat_submit: list[float] = []
    errors: dict[str, int] = {}
    examples: dict[str, str] = {}
    holders: dict[Any, int] = {}  # task -> annotator currently holding it (next ... submit)
    served: dict[Any, set[int]] = {}
    concurrent_double: list[tuple[Any, int, int]] = []
    windows: dict[int, int] = {}
    state = {"claimed": 0, "done": 0, "empty": 0, "stop": False}
    t_start = time.perf_counter()
    deadline = t_start + seconds

    def err(kind: str, exc: BaseException) -> None:
        key = f"{kind}:{exc.status}" if isinstance(exc, HttpError) else f"{kind}:{type(exc).__name__}"
        errors[key] = errors.get(key, 0) + 1
        if key not in examples and len(examples) < MAX_ERROR_EXAMPLES:
            examples[key] = str(exc)[:600]
        if sum(errors.values()) > 20000:
            state["stop"] = True

    async def annotator(idx: int, token: str) -> None:
        rng = random.Random(seed * 1000 + idx)
        conn = Conn(system.base_url, timeout=60)
        try:
            while not state["stop"] and time.perf_counter() < deadline and state["claimed"] < max_submits:
                state["claimed"] += 1
                t = time.perf_counter()
                try:
                    task = await system.next(conn, token, project)
                except Exception as exc:  # noqa: BLE001
                    state["claimed"] -= 1
                    err("next", exc)
                    await asyncio.sleep(0.01)
                    continue
                lat_next.append(time.perf_counter() - t)
                if task is None:
                    state["claimed"] -= 1
                    state["empty"] += 1
                    return
                holder = holders.get(task.id)
                if holder is not None and holder != idx:
                    concurrent_double.append((task.id, holder, idx))
                holders[task.id] = idx
                served.setdefault(task.id, set()).add(idx)
                t = time.perf_counter()
                try:
                    await system.submit(conn, token, task, rng.choice(LABELS))
                except Exception as exc:  # noqa: BLE001
                    err("submit", exc)
                    await asyncio.sleep(0.01)
                    continue
                now = time.perf_counter()
                lat_submit.append(now - t)
                if holders.get(task.id) == idx:
                    del holders[task.id]
                state["done"] += 1
                w = int((now - t_start) // window_s)
                windows[w] = windows.get(w, 0) + 1
        finally:
            await conn.close()

    async def progress() -> None:
        last = 0
        while time.perf_counter() < deadline and not state["stop"]:
            await asyncio.sleep(5)
            d = state["done"]
            print(
                f"   .. {time.perf_counter() - t_start:5.1f} s  submits {d}  (+{(d - last) / 5:.0f}/s)  "
                f"errors {sum(errors.values())}",
                file=sys.stderr,
                flush=True,
            )
            last = d

    prog = asyncio.ensure_future(progress())
    await asyncio.gather(*(annotator(i, tok) for i, tok in enumerate(tokens)))
    wall = time.perf_counter() - t_start
    prog.cancel()
    multi = {t: sorted(v) for t, v in served.items() if len(v) > 1}
    full = [windows.get(i, 0) / window_s for i in range(int(wall // window_s))]
    return {
        "wall_s": round(wall, 2),
        "submissions": state["done"],
        "submits_per_s": round(state["done"] / wall, 1) if wall else None,
        "submits_per_s_windows": [round(x, 1) for x in full],
        "window_s": window_s,
        "next": lat_summary(lat_next),
        "submit": lat_summary(lat_submit),
        "errors": errors,
        "error_examples": examples,
        "annotators_out_of_tasks": state["empty"],
        "concurrent_double_assignments": len(concurrent_double),
        "concurrent_double_examples": [list(x) for x in concurrent_double[:5]],
        "tasks_served_to_2plus_annotators": len(multi),
        "served_2plus_examples": {str(k): v for k, v in list(multi.items())[:5]},
    }


def start_profile(pid: int, seconds: float, kind: str, name: str, n_tasks: int) -> dict[str, Any]:
    """py-spy on the server during the loop. kind: ``gil`` records only the thread holding the GIL
    (where the server's Python CPU goes), ``record`` every non-idle thread (includes lock waits),
    ``dump`` takes three snapshots of every thread's stack, ``both`` = gil + dump. Raw collapsed
    stacks and dumps land in bench/results/."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = RESULTS_DIR / f"profile-{name}-{n_tasks}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    rec = None
    if kind in ("record", "gil", "both"):
        cmd = [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds) - 1)),
            "--rate",
            "100",
            "--format",
            "raw",
            "--output",
            f"{stem}.raw.txt",
            "--nonblocking",
        ]
        if kind in ("gil", "both"):
            cmd.append("--gil")
        rec = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def dumper() -> None:
        if kind not in ("dump", "both"):
            return
        for i in range(3):
            time.sleep(seconds / 4)
            with open(f"{stem}.dump{i}.txt", "wb") as fh:
                subprocess.run(
                    ["py-spy", "dump", "--pid", str(pid)], stdout=fh, stderr=subprocess.STDOUT, timeout=60
                )

    th = threading.Thread(target=dumper, daemon=True)
    th.start()
    return {"rec": rec, "thread": th, "stem": str(stem)}


def finish_profile(prof: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"files": prof["stem"] + ".*"}
    prof["thread"].join(120)
    rec = prof["rec"]
    if rec is not None:
        try:
            rec.wait(120)
        except subprocess.TimeoutExpired:
            rec.kill()
        raw = Path(prof["stem"] + ".raw.txt")
        if raw.exists():
            out.update(summarize_profile(raw))
        else:
            out["error"] = (rec.stderr.read().decode() if rec.stderr else "")[-500:]
    return out


def run_one(
    system: System,
    n_tasks: int,
    annotators: int,
    seconds: float,
    max_submits: int,
    overlap: int,
    seed: int,
    window_s: float,
    check_export: bool = True,
    profile: str = "",
) -> dict[str, Any]:
    """Project + annotators + loop + checks on a started system."""
    t0 = time.perf_counter()
    project = system.create_project(n_tasks, overlap, seed=seed)
    setup_s = time.perf_counter() - t0
    print(
        f"   project {project.id}: {n_tasks} tasks imported via {project.import_via or '-'} in "
        f"{project.import_s} s (setup {setup_s:.1f} s)",
        file=sys.stderr,
        flush=True,
    )
    t0 = time.perf_counter()
    tokens = system.make_annotators(annotators)
    ann_s = time.perf_counter() - t0
    pid = system.server_pid
    fs_before = fsync_probe()
    db_cpu = getattr(system, "db_cpu", lambda: None)
    cpu_srv0, cpu_me0, cpu_all0, cpu_db0 = proc_cpu(pid), self_cpu(), machine_busy_cpu(), db_cpu()
    prof = start_profile(pid, seconds, profile, system.name, n_tasks) if profile and pid else None
    loop = new_event_loop()
    try:
        with Sampler({"server": pid}) as smp:
            res = loop.run_until_complete(
                _loop(system, project, tokens, seconds, max_submits, seed, window_s)
            )
    finally:
        loop.close()
        if prof is not None:
            res_prof = finish_profile(prof)
    wall = res["wall_s"]
    if prof is not None:
        res["profile"] = res_prof
    srv, me, allc, dbc = (
        proc_cpu(pid) - cpu_srv0,
        self_cpu() - cpu_me0,
        machine_busy_cpu() - cpu_all0,
        db_cpu(),
    )
    dbc = None if dbc is None or cpu_db0 is None else dbc - cpu_db0
    res["server_cpu_util"] = round(srv / wall, 2) if pid and wall else None
    res["loadgen_cpu_util"] = round(me / wall, 2) if wall else None
    res["db_cpu_util"] = round(dbc / wall, 2) if dbc is not None and wall else None
    res["machine_cpu_util"] = round(allc / wall, 2) if wall else None
    res["other_processes_cpu_util"] = (
        round(max(0.0, allc - srv - me - (dbc or 0)) / wall, 2) if wall else None
    )
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["server_peak_rss_mib"] = smp.peak_mib("server") if pid else None
    res["fsync_ms_before"], res["fsync_ms_after"] = fs_before, fsync_probe()
    res.update(
        {
            "system": system.describe(),
            "project_tasks": n_tasks,
            "overlap": overlap,
            "annotators": annotators,
            "project_import_s": project.import_s,
            "project_import_via": project.import_via,
            "project_import": project.extra.get("import"),
            "make_annotators_s": round(ann_s, 2),
        }
    )
    if check_export:
        ex = system.export(project, parse=True)
        per = ex.annotations_per_task or {}
        res["export_check"] = {
            "seconds": ex.seconds,
            "bytes": ex.bytes,
            "annotated_tasks": len(per),
            "annotations": sum(per.values()),
            "tasks_over_overlap": sum(1 for v in per.values() if v > overlap),
        }
    try:
        res["db_check"] = system.check_db(project)
    except Exception as exc:  # noqa: BLE001
        res["db_check"] = {"error": str(exc)[:500]}
    res["double_assignments"] = (
        res["concurrent_double_assignments"]
        + res["tasks_served_to_2plus_annotators"]
        + (res.get("export_check") or {}).get("tasks_over_overlap", 0)
        + ((res.get("db_check") or {}).get("tasks_over_overlap") or 0)
    )
    return res


def summarize(r: dict[str, Any]) -> list[tuple[str, ...]]:
    ex, db = r.get("export_check") or {}, r.get("db_check") or {}
    return [
        (
            "submits/s",
            r["submits_per_s"],
            f">= {TARGET_SUBMITS_PER_S}",
            check(r["submits_per_s"] >= TARGET_SUBMITS_PER_S),
        ),
        ("submissions / wall s", f"{r['submissions']} / {r['wall_s']}", "", ""),
        ("submits/s per window", " ".join(str(x) for x in r["submits_per_s_windows"]), "", ""),
        (
            "next p50/p95/p99 ms",
            f"{r['next']['p50_ms']}/{r['next']['p95_ms']}/{r['next']['p99_ms']}",
            f"p99 < {TARGET_NEXT_P99_MS}",
            check(r["next"]["p99_ms"] is not None and r["next"]["p99_ms"] < TARGET_NEXT_P99_MS),
        ),
        ("next max ms", r["next"]["max_ms"], "", ""),
        (
            "submit p50/p95/p99 ms",
            f"{r['submit']['p50_ms']}/{r['submit']['p95_ms']}/{r['submit']['p99_ms']}",
            "",
            "",
        ),
        (
            "double assignments (all checks)",
            r["double_assignments"],
            "0",
            check(r["double_assignments"] == 0),
        ),
        ("  concurrent (client)", r["concurrent_double_assignments"], "", ""),
        ("  served to >1 annotator (client)", r["tasks_served_to_2plus_annotators"], "", ""),
        ("  export: tasks over overlap", ex.get("tasks_over_overlap"), "", ""),
        (
            "  db: tasks over overlap / bad counters",
            f"{db.get('tasks_over_overlap')} / {db.get('tasks_with_bad_counters')}",
            "",
            "",
        ),
        (
            "export annotations / annotated tasks",
            f"{ex.get('annotations')} / {ex.get('annotated_tasks')}",
            "",
            "",
        ),
        (
            "errors",
            sum(r["errors"].values()) if r["errors"] else 0,
            "",
            str(r["errors"]) if r["errors"] else "",
        ),
        ("server CPU util (cores)", r["server_cpu_util"], "", ""),
        ("PostgreSQL backends CPU util (cores)", r.get("db_cpu_util"), "", ""),
        (
            "whole machine / other processes CPU (cores of 2)",
            f"{r.get('machine_cpu_util')} / {r.get('other_processes_cpu_util')}",
            "",
            "noisy" if (r.get("other_processes_cpu_util") or 0) > 0.3 else "",
        ),
        (
            "load generator CPU util (cores)",
            r["loadgen_cpu_util"],
            "",
            "bottleneck?" if (r["loadgen_cpu_util"] or 0) > 0.8 else "ok",
        ),
        ("server peak RSS MiB", r["server_peak_rss_mib"], "", ""),
        ("fsync probe ms before/after", f"{r['fsync_ms_before']}/{r['fsync_ms_after']}", "", ""),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--tasks", type=int, default=None, help="project size (default 100,000; --quick 5,000)")
    p.add_argument("--annotators", type=int, default=32)
    p.add_argument("--seconds", type=float, default=None, help="loop duration (default 30; --quick 5)")
    p.add_argument("--max-submits", type=int, default=200000, help="hard bound on submissions per loop")
    p.add_argument("--overlap", type=int, default=1)
    p.add_argument("--scale", default="", help="comma-separated project sizes; a fresh server for each")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--window", type=float, default=5.0, help="seconds per throughput window")
    p.add_argument("--no-export-check", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep data dirs under bench/.work/")
    p.add_argument(
        "--profile",
        choices=["", "gil", "record", "dump", "both"],
        default="",
        help="run py-spy on our server during the loop (files in bench/results/)",
    )
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=None, help="also write the JSON result here")
    add_peer_args(p)
    a = p.parse_args(argv)
    tasks = a.tasks or (5000 if a.quick else 100000)
    seconds = a.seconds or (5.0 if a.quick else 30.0)
    sizes = [int(x) for x in a.scale.split(",") if x.strip()] if a.scale else [tasks]
    doc: dict[str, Any] = {"host": host_info(), "args": vars(a), "runs": [], "peer_runs": []}

    for n in sizes:
        print(
            f"-- labelhouse/{a.database}: {n} tasks, {a.annotators} annotators, {seconds} s",
            file=sys.stderr,
            flush=True,
        )
        system = LabelhouseSystem(a.database, keep=a.keep)
        try:
            system.start()
            r = run_one(
                system,
                n,
                a.annotators,
                seconds,
                a.max_submits,
                a.overlap,
                a.seed,
                a.window,
                not a.no_export_check,
                a.profile,
            )
        finally:
            system.stop()
        doc["runs"].append(r)
        print_table(
            f"labelhouse/{a.database}, {n} tasks, {a.annotators} annotators, {r['wall_s']} s",
            summarize(r),
            ("figure", "value", "target", "check"),
        )
        pr = r.get("profile") or {}
        if pr.get("inclusive_labelhouse"):
            print_table(
                f"py-spy ({a.profile}, {pr['samples']} samples): % under each labelhouse function",
                [(f, str(v)) for f, v in pr["inclusive_labelhouse"][:25]],
                ("function", "%"),
            )
            print_table("py-spy: % by leaf frame", [(f, str(v)) for f, v in pr["leaf"][:20]], ("frame", "%"))
            print_table(
                "py-spy: % by package of the leaf frame",
                [(f, str(v)) for f, v in pr["by_package"][:12]],
                ("package", "%"),
            )

    peer = make_peer(a)
    if peer is not None:
        try:
            peer.start()
            for n in sizes:
                print(
                    f"-- {peer.name}: {n} tasks, {a.annotators} annotators, {seconds} s",
                    file=sys.stderr,
                    flush=True,
                )
                r = run_one(
                    peer,
                    n,
                    a.annotators,
                    seconds,
                    a.max_submits,
                    a.overlap,
                    a.seed,
                    a.window,
                    not a.no_export_check,
                )
                doc["peer_runs"].append(r)
                print_table(f"{peer.name}, {n} tasks", summarize(r), ("figure", "value", "target", "check"))
        finally:
            peer.stop()
        rows = []
        for ours, theirs in zip(doc["runs"], doc["peer_runs"], strict=False):

            def ratio(x: float | None, y: float | None) -> str:
                return f"{x / y:.1f}x" if x and y else "-"

            rows.append(
                (
                    str(ours["project_tasks"]),
                    str(ours["submits_per_s"]),
                    str(theirs["submits_per_s"]),
                    ratio(ours["submits_per_s"], theirs["submits_per_s"]),
                    str(ours["next"]["p99_ms"]),
                    str(theirs["next"]["p99_ms"]),
                    ratio(theirs["next"]["p99_ms"], ours["next"]["p99_ms"]),
                    f"{ours['double_assignments']} / {theirs['double_assignments']}",
                )
            )
        print_table(
            "same run, side by side (ratio: labelhouse over peer; for latency, peer over labelhouse)",
            rows,
            (
                "tasks",
                "lh subs/s",
                "peer subs/s",
                "ratio",
                "lh next p99",
                "peer next p99",
                "ratio",
                "double lh/peer",
            ),
        )
        doc["ratios"] = rows

    if len(doc["runs"]) > 1:
        base = doc["runs"][0]["submits_per_s"] or 1
        print_table(
            "throughput vs project size (target: does not fall)",
            [
                (
                    str(r["project_tasks"]),
                    str(r["submits_per_s"]),
                    f"{r['submits_per_s'] / base:.2f}",
                    str(r["next"]["p99_ms"]),
                    str(r["project_import_s"]),
                    r["project_import_via"],
                )
                for r in doc["runs"]
            ],
            ("tasks", "submits/s", "vs smallest", "next p99 ms", "fill s", "fill via"),
        )
    doc["targets"] = {
        "submits_per_s>=500": all(r["submits_per_s"] >= TARGET_SUBMITS_PER_S for r in doc["runs"]),
        "next_p99<50ms": all((r["next"]["p99_ms"] or 1e9) < TARGET_NEXT_P99_MS for r in doc["runs"]),
        "zero_double_assignments": all(r["double_assignments"] == 0 for r in doc["runs"]),
    }
    if len(doc["runs"]) > 1:
        doc["targets"]["throughput_flat_with_size"] = (
            min(r["submits_per_s"] for r in doc["runs"]) >= 0.9 * doc["runs"][0]["submits_per_s"]
        )
    emit_json("loop", doc, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
