#!/usr/bin/env python3
"""Bulk import and export at scale, with the server's memory sampled throughout.

    python bench/bulk.py                 # 1,000,000 items: CLI import, HTTP import, export of 1,000,000 annotations
    python bench/bulk.py --items 200000  # a smaller N
    python bench/bulk.py --quick         # 20,000 items
    python bench/bulk.py --database postgresql
    python bench/bulk.py --baseline /work/main   # + the imports timed with other code, interleaved

Steps (one fresh server, SQLite by default):
  1. generate N seeded JSONL items (cached in bench/.work/; generation time reported apart);
  2. ``labelhouse import PROJECT FILE`` into project A (the fast path) — timed, with the import
     process's and the server's peak RSS;
  3. the same file POSTed to /api/v1/projects/B/items (over 4 MB it becomes a job: 202, then
     GET /jobs/{id} until it ends) — timed from the first byte sent to the job's end (--no-http to skip);
  4. every task of A gets one annotation (setup, not timed as a target). ``--annotate sql`` (default)
     writes the lease and annotation rows the submit path would leave with bulk INSERTs through
     labelhouse.storage.tables (bench/lh_admin.py annotate); ``--annotate services`` calls
     labelhouse.services.queue.next_task + annotations.submit per task (slow; for small N);
  5. GET /api/v1/projects/A/export?format=jsonl, streamed and counted — timed; then
     ``labelhouse export A --out FILE`` (the CLI path, no server) unless --no-cli-export.
Server RSS is sampled every 0.2 s (psutil) from start to stop; the peak is the figure for the
"under 300 MB throughout" target.

``--baseline PATH`` (a checkout of other code, e.g. main's) starts a second server running that
code (PYTHONPATH=PATH, its own data folder and database) and times the baseline's CLI import and
HTTP import right before ours, step by step, so that both see the same machine; the table gets
a ratio column (ours / baseline). The annotation and export steps run on ours only.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    RESULTS_DIR,
    WORK_DIR,
    Sampler,
    check,
    emit_json,
    fsync_probe,
    host_info,
    items_file,
    print_table,
    spy_start,
    spy_stop,
)
from systems import LabelhouseSystem, ProjectRef  # noqa: E402

TARGET_IMPORT_S = 30.0
TARGET_EXPORT_S = 30.0
TARGET_RSS_MIB = 300.0


def _code_of(system: LabelhouseSystem) -> str:
    """The labelhouse package a system's subprocesses import (what --baseline compares)."""
    r = subprocess.run(
        [system.python, "-c", "import labelhouse; print(labelhouse.__file__)"],
        capture_output=True,
        text=True,
        env=system._env(),
        cwd=system.cwd,
        timeout=60,
    )
    return r.stdout.strip() or r.stderr.strip()[-200:]


def settle(system: LabelhouseSystem) -> dict[str, float]:
    """What the out-of-band annotation step left behind, measured and then cleared (setup, not timed).

    ``lh_admin annotate`` writes a million annotations from another process in a minute or two;
    a server that took them through its own submits over hours would have checkpointed them as
    they came. Record the WAL's size and the machine's dirty pages, then checkpoint (TRUNCATE)
    and sync, so the export reads the database as such a server would have left it."""
    wal = list(system.data_dir.rglob("*.db-wal"))
    before = sum(f.stat().st_size for f in wal)
    dirty_kb = _meminfo("Dirty")
    t0 = time.perf_counter()
    for f in wal:
        with sqlite3.connect(str(f)[: -len("-wal")]) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.sync()
    return {
        "wal_mb": round(before / 1e6, 1),
        "dirty_mb": round(dirty_kb / 1e3, 1),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _meminfo(key: str) -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1])
    return 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=None, help="N (default 1,000,000; --quick 20,000)")
    p.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--annotate", choices=["sql", "services"], default="sql")
    p.add_argument("--no-http", action="store_true", help="skip the HTTP import")
    p.add_argument("--no-cli-export", action="store_true")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--quick", action="store_true")
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy (GIL samples) on the server during the HTTP import and the export (files in bench/results/)",
    )
    p.add_argument("--out", default=None)
    p.add_argument(
        "--baseline",
        default=None,
        metavar="PATH",
        help="also time the imports with the code at PATH (PYTHONPATH), interleaved with ours",
    )
    a = p.parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")

    def stem(step: str) -> str:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        return str(RESULTS_DIR / f"profile-bulk-{step}-{stamp}")

    n = a.items or (20000 if a.quick else 1_000_000)
    doc: dict[str, Any] = {"host": host_info(), "args": vars(a), "items": n, "fsync_ms_start": fsync_probe()}

    t0 = time.perf_counter()
    cached = (WORK_DIR / f"items-{n}-s{a.seed}.jsonl").exists()
    path = items_file(n, a.seed)
    doc["generate"] = {
        "seconds": round(time.perf_counter() - t0, 2),
        "file": str(path),
        "bytes": path.stat().st_size,
        "cached": cached,
    }
    print(f"-- {n} items in {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr, flush=True)

    system = LabelhouseSystem(a.database, keep=a.keep)
    base: LabelhouseSystem | None = None
    if a.baseline:
        base_path = str(Path(a.baseline).resolve())
        base = LabelhouseSystem(a.database, keep=a.keep, env={"PYTHONPATH": base_path}, cwd=base_path)
        doc["baseline"] = {"path": base_path, "labelhouse": _code_of(base)}
        doc["labelhouse"] = _code_of(system)
        if doc["baseline"]["labelhouse"] == doc["labelhouse"]:
            print(f"!! the baseline runs the same code as ours ({doc['labelhouse']})", file=sys.stderr)
    try:
        system.start()
        doc["system"] = system.describe()
        if base is not None:
            base.start()
        with Sampler({"server": system.server_pid}) as whole:
            # 2. CLI import
            if base is not None:
                print("-- baseline: labelhouse import (CLI)", file=sys.stderr, flush=True)
                r = base.import_cli(base.new_project(1, name=f"bulk-cli-{n}"), path)
                r["items_per_s"] = round(n / r["seconds"])
                doc["baseline"]["import_cli"] = r
            pa = system.new_project(1, name=f"bulk-cli-{n}")
            print("-- labelhouse import (CLI)", file=sys.stderr, flush=True)
            doc["import_cli"] = system.import_cli(
                pa, path, spy_stem=stem("import-cli") if a.profile else None
            )
            if doc["import_cli"].get("profile"):
                doc.setdefault("profiles", {})["import_cli"] = doc["import_cli"].pop("profile")
            doc["import_cli"]["items_per_s"] = round(n / doc["import_cli"]["seconds"])
            # 3. HTTP import
            if not a.no_http and base is not None:
                print("-- baseline: HTTP import", file=sys.stderr, flush=True)
                try:
                    r = base.import_http(base.new_project(1, name=f"bulk-http-{n}"), path)
                    r["items_per_s"] = round(n / r["seconds"])
                except Exception as exc:  # noqa: BLE001 - record and go on
                    r = {"error": str(exc)[:1000]}
                doc["baseline"]["import_http"] = r
            if base is not None:
                base.stop()
            if not a.no_http:
                pb = system.new_project(1, name=f"bulk-http-{n}")
                print("-- HTTP import", file=sys.stderr, flush=True)
                spy = spy_start(system.server_pid, stem("import-http")) if a.profile else None
                try:
                    doc["import_http"] = system.import_http(pb, path)
                    doc["import_http"]["items_per_s"] = round(n / doc["import_http"]["seconds"])
                except Exception as exc:  # noqa: BLE001 - record and go on
                    doc["import_http"] = {"error": str(exc)[:1000]}
                finally:
                    if spy is not None:
                        doc.setdefault("profiles", {})["import_http"] = spy_stop(spy, stem("import-http"))
            # 4. annotations
            ref = ProjectRef(pa, n, 1)
            print(f"-- annotating every task ({a.annotate})", file=sys.stderr, flush=True)
            doc["annotate"] = system.annotate_all(ref, a.annotate)
            doc["settle"] = settle(system)
            # 5. export
            print("-- HTTP export", file=sys.stderr, flush=True)
            spy = spy_start(system.server_pid, stem("export-http")) if a.profile else None
            try:
                ex = system.export(ref, parse=False)
            finally:
                if spy is not None:
                    doc.setdefault("profiles", {})["export_http"] = spy_stop(spy, stem("export-http"))
            doc["export_http"] = {
                "seconds": ex.seconds,
                "bytes": ex.bytes,
                "lines": ex.lines,
                "annotations_per_s": round(ex.lines / ex.seconds) if ex.seconds else None,
                "server_peak_rss_mib": ex.server_peak_rss_mib,
                "server_cpu_s": ex.server_cpu_s,
            }
            if not a.no_cli_export:
                print("-- labelhouse export (CLI)", file=sys.stderr, flush=True)
                out = WORK_DIR / f"export-{n}.jsonl"
                try:
                    doc["export_cli"] = system.export_cli(ref, out)
                finally:
                    out.unlink(missing_ok=True)
        doc["server_peak_rss_mib_throughout"] = whole.peak_mib("server")
        doc["server_rss_end_mib"] = round(whole.last["server"] / 2**20, 1)
    finally:
        system.stop()
        if base is not None:
            base.stop()

    ic, ih, ex = doc["import_cli"], doc.get("import_http") or {}, doc["export_http"]
    rows = [
        (
            "generate JSONL (not a target)",
            f"{doc['generate']['seconds']} s" + (" (cached)" if cached else ""),
            f"{doc['generate']['bytes'] / 1e6:.1f} MB",
            "",
            "",
        ),
        (
            "labelhouse import (CLI)",
            f"{ic['seconds']} s",
            f"{ic['items_per_s']} items/s; created {ic['created']}",
            f"< {TARGET_IMPORT_S:.0f} s",
            check(ic["seconds"] < TARGET_IMPORT_S),
        ),
        (
            "  import process / server peak RSS",
            f"{ic['import_process_peak_rss_mib']} / {ic['server_peak_rss_mib']} MiB",
            "",
            "",
            "",
        ),
    ]
    if ih:
        rows.append(
            (
                "HTTP import (POST JSONL -> job)",
                f"{ih.get('seconds')} s",
                f"{ih.get('items_per_s')} items/s; upload {ih.get('upload_s')} s; created {ih.get('created')}"
                if "error" not in ih
                else ih["error"][:200],
                f"< {TARGET_IMPORT_S:.0f} s",
                check(ih.get("seconds") is not None and ih["seconds"] < TARGET_IMPORT_S),
            )
        )
        rows.append(
            ("  server peak RSS during HTTP import", f"{ih.get('server_peak_rss_mib')} MiB", "", "", "")
        )
    rows += [
        (
            f"annotate every task ({a.annotate}; setup)",
            f"{doc['annotate']['seconds']} s",
            f"{doc['annotate']['annotated']} annotations",
            "",
            "",
        ),
        (
            "  settle: checkpoint + sync (setup)",
            f"{doc['settle']['seconds']} s",
            f"WAL {doc['settle']['wal_mb']} MB, dirty pages {doc['settle']['dirty_mb']} MB before",
            "",
            "",
        ),
        (
            "HTTP export JSONL",
            f"{ex['seconds']} s",
            f"{ex['lines']} lines, {ex['bytes'] / 1e6:.1f} MB, {ex['annotations_per_s']}/s",
            f"< {TARGET_EXPORT_S:.0f} s",
            check(ex["seconds"] < TARGET_EXPORT_S),
        ),
        (
            "  server peak RSS / CPU during export",
            f"{ex['server_peak_rss_mib']} MiB / {ex.get('server_cpu_s')} s",
            "",
            "",
            "",
        ),
    ]
    if "export_cli" in doc:
        ec = doc["export_cli"]
        rows.append(
            (
                "labelhouse export (CLI)",
                f"{ec['seconds']} s",
                f"{ec['bytes'] / 1e6:.1f} MB; process peak RSS {ec['export_process_peak_rss_mib']} MiB",
                "",
                "",
            )
        )
    rows.append(
        (
            "server peak RSS throughout",
            f"{doc['server_peak_rss_mib_throughout']} MiB",
            f"end {doc['server_rss_end_mib']} MiB",
            f"< {TARGET_RSS_MIB:.0f} MB",
            check(doc["server_peak_rss_mib_throughout"] < TARGET_RSS_MIB),
        )
    )
    print_table(
        f"bulk, {n} items, labelhouse/{a.database}", rows, ("step", "time", "detail", "target", "check")
    )
    if base is not None:
        b = doc["baseline"]
        pairs = [("labelhouse import (CLI)", b.get("import_cli") or {}, ic)]
        if ih:
            pairs.append(("HTTP import (POST JSONL -> job)", b.get("import_http") or {}, ih))
        ratio_rows = []
        for step, theirs, ours in pairs:
            ratio = (
                round(ours["seconds"] / theirs["seconds"], 2)
                if theirs.get("seconds") and ours.get("seconds")
                else None
            )
            ratio_rows.append(
                (
                    step,
                    f"{theirs.get('seconds', theirs.get('error', '-'))} s",
                    f"{ours.get('seconds')} s",
                    str(ratio),
                )
            )
            if ratio is not None:
                b.setdefault("ratios", {})[step] = ratio
        print_table(
            f"same run, baseline {b['labelhouse']} vs ours {doc['labelhouse']} (baseline just before ours)",
            ratio_rows,
            ("step", "baseline", "ours", "ours / baseline"),
        )
    for step, pr in (doc.get("profiles") or {}).items():
        if pr:
            print_table(
                f"py-spy --gil during {step} ({pr['samples']} samples): % under each labelhouse function",
                [(f, str(v)) for f, v in pr["inclusive_labelhouse"][:20]],
                ("function", "%"),
            )
            print_table(
                f"py-spy during {step}: % by leaf frame",
                [(f, str(v)) for f, v in pr["leaf"][:15]],
                ("frame", "%"),
            )
    doc["targets"] = {
        "import_under_30s": ic["seconds"] < TARGET_IMPORT_S,
        "export_under_30s": ex["seconds"] < TARGET_EXPORT_S,
        "server_rss_under_300MB": doc["server_peak_rss_mib_throughout"] < TARGET_RSS_MIB,
    }
    emit_json("bulk", doc, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
