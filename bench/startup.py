#!/usr/bin/env python3
"""Install time, first start, idle memory.

    python bench/startup.py            # pip install into a fresh venv, then 3 first starts + 3 warm starts
    python bench/startup.py --quick    # no install (uses this environment's labelhouse), 1 start of each

  * install: a copy of this checkout (without .git and scratch dirs, so nothing is written into the
    work tree) is installed with ``pip install --no-cache-dir`` into a new venv: the wall time of
    ``python -m venv`` and of ``pip install`` apart, packages installed, venv size. Note: pip here is
    configured with local wheel folders/indexes as well as the public index; the output says how many
    packages came from each.
  * first start: ``labelhouse serve`` on an empty data folder until GET /api/v1/health answers 200
    (this includes creating the database); warm start: the same on the folder left by a first start.
  * idle RSS: the server's resident memory --idle-wait seconds (default 10) after it answered.
Servers are started on free loopback ports and stopped (SIGTERM, then SIGKILL) before the script ends.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import BENCH_DIR, WORK_DIR, check, emit_json, free_port, host_info, print_table, proc_rss  # noqa: E402

TARGET_INSTALL_S = 60.0
TARGET_FIRST_START_S = 5.0
TARGET_IDLE_MIB = 150.0
REPO = BENCH_DIR.parent
IGNORE = shutil.ignore_patterns(
    ".git",
    ".work",
    "results",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "labelhouse-data",
    "labelhouse-demo",
    "build",
    "dist",
    ".benchmarks",
)


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def install(tmp: Path) -> dict[str, Any]:
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=IGNORE)
    venv = tmp / "venv"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    venv_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--no-cache-dir", str(src)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    pip_s = time.perf_counter() - t0
    if r.returncode != 0:
        return {"error": r.stderr[-2000:], "pip_s": round(pip_s, 1)}
    out = r.stdout
    pkgs = json.loads(
        subprocess.run(
            [str(venv / "bin" / "pip"), "list", "--format=json"], capture_output=True, text=True, timeout=120
        ).stdout
    )
    return {
        "venv_s": round(venv_s, 2),
        "pip_install_s": round(pip_s, 2),
        "total_s": round(venv_s + pip_s, 2),
        "packages": len(pkgs),
        "venv_mib": round(dir_size(venv) / 2**20, 1),
        "from_local_wheels_or_index": sum(1 for line in out.splitlines() if "/opt/" in line),
        "downloaded_from_network": sum(1 for line in out.splitlines() if "Downloading http" in line),
        "labelhouse": str(venv / "bin" / "labelhouse"),
    }


def start_once(cmd: list[str], data: Path, idle_wait: float, timeout: float = 60) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "HTTP_PROXY": "", "HTTPS_PROXY": "", "NO_PROXY": "127.0.0.1"}
    log = (data.parent / f"{data.name}.log").open("ab")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd + ["serve", "--data", str(data), "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    res: dict[str, Any] = {}
    try:
        with httpx.Client(trust_env=False, timeout=2) as c:
            while time.perf_counter() - t0 < timeout:
                if proc.poll() is not None:
                    res["error"] = f"exited with {proc.returncode}"
                    break
                try:
                    if c.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                        res["to_health_s"] = round(time.perf_counter() - t0, 3)
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.01)
            else:
                res["error"] = f"no health 200 within {timeout} s"
        res["rss_at_ready_mib"] = round(proc_rss(proc.pid) / 2**20, 1)
        if "to_health_s" in res and idle_wait > 0:
            time.sleep(idle_wait)
            res["idle_rss_mib"] = round(proc_rss(proc.pid) / 2**20, 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skip-install", action="store_true")
    p.add_argument("--repeat", type=int, default=None, help="starts of each kind (default 3; --quick 1)")
    p.add_argument("--idle-wait", type=float, default=10.0)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    repeat = a.repeat or (1 if a.quick else 3)
    doc: dict[str, Any] = {"host": host_info(), "args": vars(a)}
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="startup-", dir=WORK_DIR))
    try:
        cmd = [sys.executable, "-m", "labelhouse.cli.main"]
        if not (a.quick or a.skip_install):
            print("-- pip install into a fresh venv", file=sys.stderr, flush=True)
            doc["install"] = install(tmp)
            if "labelhouse" in doc["install"]:
                cmd = [doc["install"]["labelhouse"]]
        else:
            which = shutil.which("labelhouse")
            cmd = [which] if which else cmd
        doc["command"] = cmd
        firsts, warms = [], []
        for i in range(repeat):
            data = tmp / f"data{i}"
            print(f"-- first start {i + 1}/{repeat}", file=sys.stderr, flush=True)
            firsts.append(start_once(cmd, data, a.idle_wait if i == 0 else 0))
            print(f"-- warm start {i + 1}/{repeat}", file=sys.stderr, flush=True)
            warms.append(start_once(cmd, data, a.idle_wait if i == 0 else 0))
        doc["first_starts"], doc["warm_starts"] = firsts, warms
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(xs: list[dict[str, Any]], k: str) -> float | None:
        v = [x[k] for x in xs if k in x]
        return round(statistics.median(v), 3) if v else None

    doc["first_start_median_s"] = med(firsts, "to_health_s")
    doc["warm_start_median_s"] = med(warms, "to_health_s")
    doc["idle_rss_after_first_start_mib"] = firsts[0].get("idle_rss_mib")
    doc["idle_rss_after_warm_start_mib"] = warms[0].get("idle_rss_mib")
    rows = []
    ins = doc.get("install")
    if ins:
        if "error" in ins:
            rows.append(("pip install", "FAILED", ins["error"][-200:], f"< {TARGET_INSTALL_S:.0f} s", "FAIL"))
        else:
            rows.append(
                (
                    "venv + pip install --no-cache-dir",
                    f"{ins['total_s']} s",
                    f"venv {ins['venv_s']} s + pip {ins['pip_install_s']} s; {ins['packages']} packages, "
                    f"{ins['venv_mib']} MiB; local {ins['from_local_wheels_or_index']} / network {ins['downloaded_from_network']}",
                    f"< {TARGET_INSTALL_S:.0f} s",
                    check(ins["total_s"] < TARGET_INSTALL_S),
                )
            )
    else:
        rows.append(("install", "skipped", "--quick / --skip-install", f"< {TARGET_INSTALL_S:.0f} s", "n/a"))
    fs = doc["first_start_median_s"]
    rows += [
        (
            "first start -> health 200 (median)",
            f"{fs} s",
            " ".join(str(x.get("to_health_s", x.get("error"))) for x in firsts),
            f"< {TARGET_FIRST_START_S:.0f} s",
            check(fs is not None and fs < TARGET_FIRST_START_S),
        ),
        (
            "warm start -> health 200 (median)",
            f"{doc['warm_start_median_s']} s",
            " ".join(str(x.get("to_health_s", x.get("error"))) for x in warms),
            "",
            "",
        ),
        (
            f"idle RSS {a.idle_wait:.0f} s after first start",
            f"{doc['idle_rss_after_first_start_mib']} MiB",
            f"at ready {firsts[0].get('rss_at_ready_mib')} MiB",
            f"< {TARGET_IDLE_MIB:.0f} MB",
            check(
                doc["idle_rss_after_first_start_mib"] is not None
                and doc["idle_rss_after_first_start_mib"] < TARGET_IDLE_MIB
            ),
        ),
        (
            f"idle RSS {a.idle_wait:.0f} s after warm start",
            f"{doc['idle_rss_after_warm_start_mib']} MiB",
            "",
            "",
            "",
        ),
    ]
    print_table("install and start-up", rows, ("figure", "value", "detail", "target", "check"))
    doc["targets"] = {
        "install_under_60s": None if not ins or "error" in ins else ins["total_s"] < TARGET_INSTALL_S,
        "first_start_under_5s": fs is not None and fs < TARGET_FIRST_START_S,
        "idle_rss_under_150MB": (doc["idle_rss_after_first_start_mib"] or 1e9) < TARGET_IDLE_MIB,
    }
    emit_json("startup", doc, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
