#!/usr/bin/env python3
"""Export A/B on one kept data folder: two code trees, alternately, same bytes checked.

    python bench/bulk.py --items 1000000 --no-http --keep          # makes the folder (printed)
    python bench/export_ab.py bench/.work/lh-sqlite-... --code /work/main --code . --rounds 2
    python bench/export_ab.py FOLDER --code /work/main --code . --in-process --rounds 3

Per round and per tree (``PYTHONPATH=<tree>``): over HTTP, a fresh ``labelhouse serve`` on the
folder, ``GET /api/v1/projects/P/export?format=jsonl`` streamed and parsed line by line as
bulk.py does, timed, with the server's CPU seconds and peak RSS (VmHWM); or, with
``--in-process``, the export stream alone (``services.exports.stream``) timed with
``time.process_time`` in a process of its own (no server, no start-up). Every run prints the
sha256 of the bytes: the trees must agree. A token is made once with ``labelhouse users create``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
import orjson  # noqa: E402
from benchlib import free_port  # noqa: E402
from systems import NO_PROXY_ENV  # noqa: E402

IN_PROCESS = """
import hashlib, sys, time
from pathlib import Path
from labelhouse.cli.context import runtime_from
from labelhouse.services import exports
from labelhouse.services.clock import utcnow
from labelhouse.services.operator import operator_for_project
rt = runtime_from(Path(sys.argv[1]), None)
project = int(sys.argv[2])
with rt.db.session() as s:
    plan = exports.plan_export(s, operator_for_project(s, project), project, "jsonl", now=utcnow())
h = hashlib.sha256()
c0 = time.process_time()
for chunk in exports.stream(lambda: rt.db.session(write=False), plan):
    h.update(chunk)
print(f"cpu {time.process_time() - c0:.2f} s  sha {h.hexdigest()[:16]}")
"""


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0


def _env(code: str) -> dict[str, str]:
    return {**os.environ, **NO_PROXY_ENV, "PYTHONPATH": code, "LABELHOUSE_LOG_LEVEL": "warning"}


def over_http(code: str, folder: Path, project: int, token: str) -> str:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "labelhouse.cli.main", "serve", "--port", str(port), "--host", "127.0.0.1"]
        + ["--data", str(folder)],
        env=_env(code),
        cwd="/tmp",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            trust_env=False,
            timeout=3600,
            headers={"Authorization": f"Bearer {token}"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if client.get("/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        cpu0 = _cpu_s(server.pid)
        digest, lines, tail = hashlib.sha256(), 0, b""
        t0 = time.perf_counter()
        with client.stream("GET", f"/api/v1/projects/{project}/export", params={"format": "jsonl"}) as r:
            r.raise_for_status()
            for chunk in r.iter_bytes(1 << 20):
                digest.update(chunk)
                *complete, tail = (tail + chunk).split(b"\n")
                for line in complete:
                    if line:
                        orjson.loads(line)
                        lines += 1
        wall = time.perf_counter() - t0
        return (
            f"wall {wall:.2f} s  server CPU {_cpu_s(server.pid) - cpu0:.2f} s  peak {_peak_mib(server.pid):.0f} MiB"
            f"  lines {lines}  sha {digest.hexdigest()[:16]}"
        )
    finally:
        server.terminate()
        server.wait(30)


def in_process(code: str, folder: Path, project: int) -> str:
    run = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(folder), str(project)],
        env=_env(code),
        cwd="/tmp",
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.strip()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path, help="a data folder kept by bulk.py --keep")
    p.add_argument("--code", action="append", required=True, help="a tree to run (PYTHONPATH); give two")
    p.add_argument("--project", type=int, default=1)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--in-process", action="store_true", help="time the export stream alone, no server")
    args = p.parse_args()
    folder = args.folder.resolve()
    token = ""
    if not args.in_process:
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "labelhouse.cli.main",
                "users",
                "create",
                f"ab-{os.getpid()}@bench.example.com",
            ]
            + ["--workspace", "bench", "--role", "owner", "--token", "--data", str(folder)],
            env=_env(str(Path(args.code[-1]).resolve())),
            cwd="/tmp",
            capture_output=True,
            text=True,
            check=True,
        )
        token = made.stdout.strip().splitlines()[-1]
    for n in range(1, args.rounds + 1):
        for code in args.code:
            tree = str(Path(code).resolve())
            load = os.getloadavg()[0]
            got = (
                in_process(tree, folder, args.project)
                if args.in_process
                else over_http(tree, folder, args.project, token)
            )
            print(f"round {n}  {tree:28s} {got}  load {load:.1f}", flush=True)


if __name__ == "__main__":
    main()
