"""Shared pieces of the benchmarks: a small HTTP/1.1 client, process samplers, percentiles,
the fsync probe, seeded item generation and the table + JSON-line output.

Nothing here knows about a particular labeling server; that is ``systems.py``'s job.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:  # psutil is optional: /proc is read directly without it (Linux only then)
    import psutil
except ImportError:  # pragma: no cover
    psutil = None

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"  # git-ignored scratch space (generated files, data dirs)
RESULTS_DIR = BENCH_DIR / "results"  # git-ignored raw results


# --------------------------------------------------------------------------------------------
# safety: loopback only
# --------------------------------------------------------------------------------------------
def check_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addrs = {ai[4][0] for ai in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        raise SystemExit(f"cannot resolve {host}") from None
    for a in addrs:
        if not ipaddress.ip_address(a).is_loopback:
            raise SystemExit(
                f"refusing non-loopback target {url} ({a}): the benchmarks only talk to 127.0.0.1"
            )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------------------------
# a minimal keep-alive HTTP/1.1 client for the hot loop
# --------------------------------------------------------------------------------------------
class HttpError(Exception):
    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:300]!r}")
        self.method, self.path, self.status, self.body = method, path, status, body


class Conn:
    """One keep-alive HTTP/1.1 connection (what one annotator's browser tab would hold).

    Written by hand on asyncio streams because a general client (httpx) spends ~1 ms of CPU
    per request, which on a 2-core box shared with the server makes the load generator the
    bottleneck at a few hundred requests/s. This one spends ~50-100 us. It supports what the
    benchmarks need: Content-Length and chunked bodies, 204, reconnect after Connection: close.
    """

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        u = urllib.parse.urlsplit(base_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.prefix = u.path.rstrip("/")
        self.timeout = timeout
        self._r: asyncio.StreamReader | None = None
        self._w: asyncio.StreamWriter | None = None
        self.reconnects = 0

    async def _connect(self) -> None:
        self._r, self._w = await asyncio.open_connection(self.host, self.port)
        sock = self._w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def close(self) -> None:
        if self._w is not None:
            self._w.close()
            try:
                await self._w.wait_closed()
            except Exception:  # noqa: BLE001
                pass
        self._r = self._w = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self._w is None:
                await self._connect()
                if attempt:
                    self.reconnects += 1
            try:
                return await asyncio.wait_for(
                    self._exchange(method, path, headers, body, content_type), self.timeout
                )
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                await self.close()
                if attempt:
                    raise ConnectionError(f"{method} {path}: {exc!r}") from exc
            except BaseException:
                await self.close()
                raise
        raise AssertionError("unreachable")

    async def _exchange(
        self, method: str, path: str, headers: dict[str, str] | None, body: bytes | None, content_type: str
    ) -> tuple[int, bytes]:
        assert self._r is not None and self._w is not None
        lines = [f"{method} {self.prefix}{path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body is not None:
            lines.append(f"Content-Type: {content_type}")
            lines.append(f"Content-Length: {len(body)}")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0")
        self._w.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        head = await self._r.readuntil(b"\r\n\r\n")
        status_line, *hdr_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        hdrs = {}
        for h in hdr_lines:
            k, _, v = h.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if status in (204, 304) or method == "HEAD":
            data = b""
        elif "content-length" in hdrs:
            data = await self._r.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size_line = await self._r.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    await self._r.readuntil(b"\r\n")
                    break
                parts.append(await self._r.readexactly(size))
                await self._r.readexactly(2)
            data = b"".join(parts)
        else:
            data = await self._r.read()
            await self.close()
        if hdrs.get("connection", "").lower() == "close":
            await self.close()
        return status, data


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (cheaper per request), else the default loop."""
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


# --------------------------------------------------------------------------------------------
# measuring processes
# --------------------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def proc_rss(pid: int | None, children: bool = True) -> int:
    """Resident set size in bytes of ``pid`` (plus its children), 0 if gone."""
    if not pid:
        return 0
    if psutil is not None:
        try:
            p = psutil.Process(pid)
            total = p.memory_info().rss
            if children:
                for c in p.children(recursive=True):
                    try:
                        total += c.memory_info().rss
                    except psutil.Error:
                        pass
            return int(total)
        except psutil.Error:
            return 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def proc_cpu(pid: int | None) -> float:
    """User+system CPU seconds of ``pid`` so far (0 if gone)."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / _TICK
    except OSError:
        return 0.0


def machine_busy_cpu() -> float:
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts[:8]) - idle) / _TICK


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Sampler:
    """Samples RSS of some PIDs every ``interval`` seconds in a thread; keeps each one's peak.

    ``pids`` is a callable so that a sampler can follow processes that come and go (a CLI import).
    """

    def __init__(self, pids: dict[str, Any], interval: float = 0.2) -> None:
        self.pids = pids  # name -> int | callable returning int | None
        self.interval = interval
        self.peak: dict[str, int] = {k: 0 for k in pids}
        self.last: dict[str, int] = {k: 0 for k in pids}
        self.samples = 0
        self._stop = threading.Event()
        self._t: threading.Thread | None = None

    def _pid(self, name: str) -> int | None:
        v = self.pids[name]
        return v() if callable(v) else v

    def sample(self) -> None:
        for name in self.pids:
            rss = proc_rss(self._pid(name))
            self.last[name] = rss
            if rss > self.peak[name]:
                self.peak[name] = rss
        self.samples += 1

    def __enter__(self) -> Sampler:
        self.sample()

        def run() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self._t = threading.Thread(target=run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._t:
            self._t.join()
        self.sample()

    def peak_mib(self, name: str) -> float:
        return round(self.peak[name] / 2**20, 1)


def fsync_probe(directory: str | Path = "/tmp", n: int = 20) -> float:
    """Median ms of a 512-byte write+fsync: SQLite servers are fsync-bound, and this drifts a lot
    on a shared VM (the peer's report saw 0.07 to 3.8 ms), so every phase records it."""
    fn = os.path.join(str(directory), f".fsync-probe-{os.getpid()}")
    ts = []
    fd = os.open(fn, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        for _ in range(n):
            t = time.perf_counter()
            os.write(fd, b"x" * 512)
            os.fsync(fd)
            ts.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(fn)
    return round(statistics.median(ts) * 1000, 3)


def code_version() -> dict[str, Any]:
    """Which server code was measured: git HEAD, whether labelhouse/ differs from it, and a hash
    of labelhouse/**/*.py as they are on disk (the server is edited while benchmarks run)."""
    import hashlib

    repo = BENCH_DIR.parent
    h = hashlib.sha256()
    for f in sorted((repo / "labelhouse").rglob("*.py")):
        h.update(str(f.relative_to(repo)).encode())
        h.update(f.read_bytes())
    out: dict[str, Any] = {"labelhouse_py_sha256": h.hexdigest()[:12]}
    try:
        out["git_head"] = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "-C", str(repo), "diff", "--shortstat", "HEAD", "--", "labelhouse"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        out["labelhouse_uncommitted"] = diff or "none"
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def host_info() -> dict[str, Any]:
    return {
        "code": code_version(),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "mem_total_mib": round(psutil.virtual_memory().total / 2**20) if psutil else None,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# --------------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------------
def pct(sorted_vals: list[float], p: float) -> float | None:
    """Nearest-rank percentile of a sorted list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def lat_summary(vals: list[float]) -> dict[str, Any]:
    s = sorted(vals)

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 2)

    return {
        "n": len(s),
        "p50_ms": ms(pct(s, 50)),
        "p95_ms": ms(pct(s, 95)),
        "p99_ms": ms(pct(s, 99)),
        "max_ms": ms(s[-1]) if s else None,
        "mean_ms": ms(statistics.fmean(s)) if s else None,
    }


# --------------------------------------------------------------------------------------------
# workload
# --------------------------------------------------------------------------------------------
WORDS = (
    "the a model label data quality review annotator queue task image text video frame "
    "preference pair response prompt good bad helpful harmless clear vague long short "
    "customer order delivery late early broken perfect price support refund great awful"
).split()


def make_items(n: int, seed: int = 1) -> Iterable[dict[str, Any]]:
    """The seeded text items every system gets (same as the peer driver's: 8-40 words + ext_id)."""
    rng = random.Random(seed)
    for i in range(n):
        yield {"text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40))), "ext_id": i}


def items_file(n: int, seed: int = 1) -> Path:
    """A JSONL file of ``make_items(n, seed)``, generated once and cached in bench/.work/."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / f"items-{n}-s{seed}.jsonl"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        buf = []
        for it in make_items(n, seed):
            buf.append(json.dumps(it, separators=(",", ":")))
            if len(buf) >= 10000:
                f.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            f.write("\n".join(buf) + "\n")
    tmp.rename(path)
    return path


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------
def print_table(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None) -> None:
    all_rows = ([header] if header else []) + [tuple("-" if c is None else str(c) for c in r) for r in rows]
    if not all_rows:
        return
    widths = [max(len(r[i]) for r in all_rows if i < len(r)) for i in range(max(len(r) for r in all_rows))]
    print(f"\n== {title}")
    for j, r in enumerate(all_rows):
        print("  " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)))
        if header and j == 0:
            print("  " + "-+-".join("-" * w for w in widths))


def emit_json(kind: str, doc: dict[str, Any], out: str | None = None) -> None:
    """The one JSON line every benchmark prints last (and optionally keeps in a file)."""
    end = code_version()
    start = (doc.get("host") or {}).get("code") or {}
    doc["code_end"] = end
    doc["code_changed_during_run"] = start.get("labelhouse_py_sha256") != end.get("labelhouse_py_sha256")
    print(
        f"code measured: {start} -> at end {end}"
        + ("  ** labelhouse/ CHANGED DURING THE RUN **" if doc["code_changed_during_run"] else ""),
        file=sys.stderr,
    )
    line = json.dumps({"bench": kind, **doc}, default=str, separators=(",", ":"))
    print(line, flush=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    target = Path(out) if out else RESULTS_DIR / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(json.dumps({"bench": kind, **doc}, default=str, indent=2))


_LINE = re.compile(r" \(([^:()]+):\d+\)$")


def summarize_profile(raw: Path, top: int = 30) -> dict[str, Any]:
    """From py-spy raw (collapsed) stacks: the share of samples spent under each labelhouse
    function (inclusive), by leaf frame (self), and by library (leaf file's package)."""
    incl: dict[str, int] = {}
    leaf: dict[str, int] = {}
    lib: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + n
        m = re.search(r"\(([^:()]+):\d+\)$", frames[-1])
        path = m.group(1) if m else "?"
        pkg = path.split("/")[0] if "/" in path else path
        lib[pkg] = lib.get(pkg, 0) + n
        for f in {_LINE.sub(r" (\1)", f) for f in frames if "labelhouse/" in f}:
            incl[f] = incl.get(f, 0) + n

    def pick(d: dict[str, int]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    return {"samples": total, "inclusive_labelhouse": pick(incl), "leaf": pick(leaf), "by_package": pick(lib)}


def spy_start(pid: int | None, stem: str, gil: bool = True) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` on ``pid`` until ``spy_stop`` (or the process ends); None if py-spy is missing."""
    if not pid or shutil.which("py-spy") is None:
        return None
    cmd = [
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--rate",
        "100",
        "--format",
        "raw",
        "--output",
        f"{stem}.raw.txt",
        "--nonblocking",
    ] + (["--gil"] if gil else [])
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spy_stop(proc: subprocess.Popen[bytes] | None, stem: str) -> dict[str, Any] | None:
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
    raw = Path(f"{stem}.raw.txt")
    return {"file": str(raw), **summarize_profile(raw)} if raw.exists() else None


def check(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")
