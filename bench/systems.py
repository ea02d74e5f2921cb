"""The adapter seam: one class per labeling server, the same workload for all.

A benchmark talks to a ``System`` only. ``LabelhouseSystem`` starts and stops its own server
(SQLite in a fresh data folder, or a fresh PostgreSQL database that is dropped afterwards);
``LabelStudioSystem`` (adapted from shared/bench/labelstudio/driver.py) drives a Label Studio
that is already running (``setup.sh start`` there), given its URL, token and optionally PID.

Hot-path calls (``next``/``submit``) are async and take a ``benchlib.Conn``: one keep-alive
connection per annotator, owned by the load generator, so every system is driven by the same
cheap client. Everything else is synchronous (httpx) and off the measured path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx
from benchlib import (
    BENCH_DIR,
    WORK_DIR,
    Conn,
    HttpError,
    Sampler,
    check_loopback,
    free_port,
    items_file,
    make_items,
    spy_start,
    spy_stop,
)

try:
    import psutil
except ImportError:  # pragma: no cover
    psutil = None

try:
    import orjson

    _loads = orjson.loads
    _dumps = orjson.dumps
except ImportError:  # pragma: no cover
    _loads = json.loads

    def _dumps(v: Any) -> bytes:
        return json.dumps(v).encode()


LABELS = ["pos", "neg"]
NO_PROXY_ENV = {
    "HTTP_PROXY": "",
    "HTTPS_PROXY": "",
    "http_proxy": "",
    "https_proxy": "",
    "NO_PROXY": "127.0.0.1,localhost",
}


@dataclass
class ProjectRef:
    id: Any
    n_tasks: int
    overlap: int
    import_s: float | None = None
    import_via: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Task:
    id: Any
    lease: Any  # the system's lease handle (labelhouse: lease id; Label Studio: None)
    item: dict[str, Any]


@dataclass
class ExportStats:
    seconds: float
    bytes: int
    lines: int
    server_peak_rss_mib: float | None = None
    annotations_per_task: dict[Any, int] | None = None  # only when parsed
    server_cpu_s: float | None = None  # the server's CPU seconds over the export (steadier than wall time)


@runtime_checkable
class System(Protocol):
    """What a benchmark needs from a labeling server."""

    name: str
    base_url: str

    @property
    def server_pid(self) -> int | None:
        """PID to sample for memory/CPU (None when unknown, e.g. a remote-started peer)."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...

    def create_project(
        self, n_tasks: int, overlap: int = 1, *, seed: int = 1, via: str = "auto"
    ) -> ProjectRef: ...

    def make_annotators(self, n: int) -> list[str]: ...

    async def next(self, conn: Conn, token: str, project: ProjectRef) -> Task | None: ...

    async def submit(self, conn: Conn, token: str, task: Task, label: str) -> None: ...

    def export(
        self, project: ProjectRef, *, parse: bool = True, sample_interval: float = 0.2
    ) -> ExportStats: ...

    def check_db(self, project: ProjectRef) -> dict[str, Any] | None:
        """Server-side consistency read after a loop (None if the system offers none)."""
        ...


# ============================================================================================
# labelhouse
# ============================================================================================
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1", "-q", "-c"]
SCHEMA = {"controls": [{"name": "label", "type": "choices", "over": "text", "options": LABELS}]}


class LabelhouseSystem:
    """Our server, started here: ``labelhouse serve`` on a free loopback port.

    database="sqlite": a fresh data folder under bench/.work/.
    database="postgresql": the same, plus a fresh database on 127.0.0.1:5432, dropped in stop().
    """

    def __init__(
        self,
        database: str = "sqlite",
        *,
        python: str = sys.executable,
        port: int | None = None,
        keep: bool = False,
        env: dict[str, str] | None = None,
        log_level: str = "warning",
        cwd: str | None = None,
    ) -> None:
        if database not in ("sqlite", "postgresql"):
            raise ValueError("database is sqlite or postgresql")
        self.database = database
        self.name = f"labelhouse-{database}"
        self.python = python
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.keep = keep
        self.extra_env = env or {}
        # `python -m` puts the working directory first on sys.path: a checkout there wins over
        # PYTHONPATH. To run other code (bulk.py --baseline), start it from that code's folder.
        self.cwd = cwd
        self.log_level = log_level
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        self.data_dir = WORK_DIR / f"lh-{database}-{stamp}"
        self.db_name = f"lhbench_{stamp.replace('-', '_')}" if database == "postgresql" else ""
        self.database_url = f"postgresql://postgres@127.0.0.1:5432/{self.db_name}" if self.db_name else ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.owner_token = ""
        self.start_s: float | None = None
        self._ann_batches = 0
        self._http = httpx.Client(base_url=self.base_url, trust_env=False, timeout=600)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def server_pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def _cli(self, *args: str) -> list[str]:
        cmd = [self.python, "-m", "labelhouse.cli.main", *args, "--data", str(self.data_dir)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        return cmd

    def _env(self) -> dict[str, str]:
        # Benchmarks drive a few tokens far past what people do: the per-token rate limit (a
        # policy, not a cost) would measure itself, so it is off here unless a bench sets it.
        return {
            **os.environ,
            **NO_PROXY_ENV,
            "LABELHOUSE_LOG_LEVEL": self.log_level,
            "LABELHOUSE_RATE_LIMIT": "0",
            **self.extra_env,
        }

    def start(self) -> None:
        check_loopback(self.base_url)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.db_name:
            subprocess.run(PG_ADMIN + [f'CREATE DATABASE "{self.db_name}"'], check=True, timeout=60)
        r = subprocess.run(
            self._cli(
                "users",
                "create",
                "owner@bench.example.com",
                "--workspace",
                "bench",
                "--role",
                "owner",
                "--token",
            ),
            capture_output=True,
            text=True,
            timeout=120,
            env=self._env(),
            cwd=self.cwd,
        )
        if r.returncode != 0:
            raise RuntimeError(f"users create failed: {r.stderr}")
        self.owner_token = r.stdout.strip().splitlines()[-1]
        self._http.headers["Authorization"] = f"Bearer {self.owner_token}"
        log = (self.data_dir / "server.log").open("ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            self._cli("serve", "--port", str(self.port)) + ["--host", "127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._env(),
            cwd=self.cwd,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.data_dir / 'server.log'}"
                )
            try:
                if self._http.get("/api/v1/health", timeout=2).status_code == 200:
                    self.start_s = round(time.perf_counter() - t0, 3)
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not answer /api/v1/health within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if self.db_name:
            subprocess.run(PG_ADMIN + [f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'], timeout=120)
            self.db_name = ""
        if not self.keep and self.data_dir.exists():
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def db_cpu(self) -> float | None:
        """CPU seconds so far of the PostgreSQL backends serving our database (None on SQLite)."""
        if not self.db_name:
            return None
        if psutil is None:
            return _proc_cpu_matching("postgres", self.db_name)
        total = 0.0
        for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
            try:
                if proc.info["name"] == "postgres" and self.db_name in " ".join(proc.info["cmdline"] or []):
                    t = proc.info["cpu_times"]
                    total += t.user + t.system
            except (psutil.Error, TypeError):
                pass
        return total

    def describe(self) -> dict[str, Any]:
        return {
            "system": self.name,
            "url": self.base_url,
            "database": self.database,
            "data_dir": str(self.data_dir),
            "start_to_health_s": self.start_s,
        }

    def __enter__(self) -> LabelhouseSystem:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- setup -------------------------------------------------------------------------------
    def new_project(self, overlap: int = 1, name: str = "bench") -> int:
        r = self._http.post("/api/v1/projects", json={"name": name, "schema": SCHEMA, "overlap": overlap})
        if r.status_code != 201:
            raise HttpError("POST", "/api/v1/projects", r.status_code, r.content)
        return int(r.json()["id"])

    def create_project(
        self, n_tasks: int, overlap: int = 1, *, seed: int = 1, via: str = "auto"
    ) -> ProjectRef:
        """A project of ``n_tasks`` seeded text items. via: cli (the fast path), http, or auto
        (http up to 20,000 items, else cli)."""
        pid = self.new_project(overlap, name=f"bench-{n_tasks}")
        ref = ProjectRef(pid, n_tasks, overlap)
        if n_tasks <= 0:
            return ref
        if via == "auto":
            via = "http" if n_tasks <= 20000 else "cli"
        path = items_file(n_tasks, seed)
        res = self.import_cli(pid, path) if via == "cli" else self.import_http(pid, path)
        ref.import_s, ref.import_via, ref.extra["import"] = res["seconds"], via, res
        if res.get("created") not in (None, n_tasks):
            raise RuntimeError(f"import created {res.get('created')} of {n_tasks}: {res}")
        return ref

    def import_cli(self, project_id: int, path: Path, spy_stem: str | None = None) -> dict[str, Any]:
        """``labelhouse import PROJECT FILE``: time it, sample its RSS and the server's
        (and py-spy it, from 1 s in, when ``spy_stem`` is given)."""
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            self._cli("import", str(project_id), str(path)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env(),
            cwd=self.cwd,
        )
        spy: list[Any] = []
        timer = threading.Timer(1.0, lambda: spy.append(spy_start(proc.pid, spy_stem))) if spy_stem else None
        if timer:
            timer.start()
        with Sampler({"import_process": proc.pid, "server": self.server_pid}) as smp:
            out, err = proc.communicate(timeout=3600)
        dt = time.perf_counter() - t0
        profile = None
        if timer:
            timer.cancel()
            profile = spy_stop(spy[0], spy_stem) if spy and spy_stem else None
        if proc.returncode != 0:
            raise RuntimeError(f"labelhouse import failed ({proc.returncode}): {err.decode()[-2000:]}")
        created = _parse_created(out.decode())
        res = {
            "seconds": round(dt, 2),
            "created": created,
            "stdout": out.decode().strip()[-300:],
            "import_process_peak_rss_mib": smp.peak_mib("import_process"),
            "server_peak_rss_mib": smp.peak_mib("server"),
        }
        if profile:
            res["profile"] = profile
        return res

    def import_http(
        self, project_id: int, path: Path, poll: float = 0.25, timeout: float = 3600
    ) -> dict[str, Any]:
        """POST the JSONL file to /items; follow the job when the server makes one (202)."""
        cpu0 = _proc_cpu_s(self.server_pid)
        t0 = time.perf_counter()
        with Sampler({"server": self.server_pid}) as smp, path.open("rb") as fh:
            r = self._http.post(
                f"/api/v1/projects/{project_id}/items",
                content=fh,
                headers={"content-type": "application/x-ndjson"},
                timeout=timeout,
            )
            upload_s = time.perf_counter() - t0
            if r.status_code == 201:
                body = r.json()
                job = None
            elif r.status_code == 202:
                job = r.json()
                deadline = time.monotonic() + timeout
                while job["state"] not in ("succeeded", "failed") and time.monotonic() < deadline:
                    time.sleep(poll)
                    jr = self._http.get(f"/api/v1/jobs/{job['id']}")
                    if jr.status_code != 200:
                        raise HttpError("GET", f"/api/v1/jobs/{job['id']}", jr.status_code, jr.content)
                    job = jr.json()
                if job["state"] != "succeeded":
                    raise RuntimeError(f"import job did not succeed: {job}")
                body = job["result"] or {}
            else:
                raise HttpError("POST", f"/api/v1/projects/{project_id}/items", r.status_code, r.content)
        dt = time.perf_counter() - t0
        cpu = _proc_cpu_s(self.server_pid)
        return {
            "seconds": round(dt, 2),
            "server_cpu_s": round(cpu - cpu0, 2) if cpu is not None and cpu0 is not None else None,
            "upload_s": round(upload_s, 2),
            "created": body.get("created"),
            "failed": body.get("failed"),
            "as_job": job is not None,
            "server_peak_rss_mib": smp.peak_mib("server"),
        }

    def _admin(self, *args: str, timeout: float = 3600) -> dict[str, Any]:
        cmd = [self.python, str(BENCH_DIR / "lh_admin.py"), args[0], "--data", str(self.data_dir)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        r = subprocess.run(
            cmd + list(args[1:]),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._env(),
            cwd=self.cwd,
        )
        if r.returncode != 0:
            raise RuntimeError(f"lh_admin {args[0]} failed: {r.stderr[-3000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def make_annotators(self, n: int) -> list[str]:
        self._ann_batches += 1
        return list(
            self._admin(
                "users", "--workspace", "bench", "--count", str(n), "--prefix", f"ann{self._ann_batches}-"
            )["tokens"]
        )

    def annotate_all(self, project: ProjectRef, mode: str = "sql", limit: int = 0) -> dict[str, Any]:
        return self._admin("annotate", "--project", str(project.id), "--mode", mode, "--limit", str(limit))

    def check_db(self, project: ProjectRef) -> dict[str, Any] | None:
        return self._admin("check", "--project", str(project.id), timeout=600)

    # -- hot path ----------------------------------------------------------------------------
    async def next(self, conn: Conn, token: str, project: ProjectRef) -> Task | None:
        path = f"/api/v1/projects/{project.id}/next"
        status, body = await conn.request("POST", path, headers={"Authorization": f"Bearer {token}"})
        if status == 204:
            return None
        if status != 200:
            raise HttpError("POST", path, status, body)
        j = _loads(body)
        return Task(j["task"]["id"], j["lease"]["id"], j["task"]["item"])

    async def submit(self, conn: Conn, token: str, task: Task, label: str) -> None:
        path = f"/api/v1/tasks/{task.id}/annotations"
        payload = _dumps(
            {"answer": {"label": label}, "lease_id": task.lease, "idempotency_key": uuid.uuid4().hex}
        )
        status, body = await conn.request(
            "POST", path, headers={"Authorization": f"Bearer {token}"}, body=payload
        )
        if status not in (200, 201):
            raise HttpError("POST", path, status, body)

    # -- read-back ---------------------------------------------------------------------------
    def export(self, project: ProjectRef, *, parse: bool = True, sample_interval: float = 0.2) -> ExportStats:
        path = f"/api/v1/projects/{project.id}/export"
        per: dict[Any, int] | None = {} if parse else None
        n_bytes = n_lines = 0
        tail = b""
        cpu0 = _proc_cpu_s(self.server_pid)
        t0 = time.perf_counter()
        with Sampler({"server": self.server_pid}, sample_interval) as smp:
            with self._http.stream("GET", path, params={"format": "jsonl"}, timeout=3600) as r:
                if r.status_code != 200:
                    raise HttpError("GET", path, r.status_code, r.read())
                for chunk in r.iter_bytes(1 << 20):
                    n_bytes += len(chunk)
                    n_lines += chunk.count(b"\n")
                    if per is not None:
                        buf = tail + chunk
                        *lines, tail = buf.split(b"\n")
                        for line in lines:
                            if line:
                                rec = _loads(line)
                                per[rec["task_id"]] = per.get(rec["task_id"], 0) + len(rec["annotations"])
            if per is not None and tail.strip():
                rec = _loads(tail)
                per[rec["task_id"]] = per.get(rec["task_id"], 0) + len(rec["annotations"])
        seconds = round(time.perf_counter() - t0, 2)
        cpu = _proc_cpu_s(self.server_pid)
        server_cpu = round(cpu - cpu0, 2) if cpu is not None and cpu0 is not None else None
        return ExportStats(seconds, n_bytes, n_lines, smp.peak_mib("server"), per, server_cpu)

    def export_cli(self, project: ProjectRef, out: Path) -> dict[str, Any]:
        """``labelhouse export PROJECT --out FILE`` (no server involved): time and peak RSS."""
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            self._cli("export", str(project.id), "--out", str(out)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self._env(),
            cwd=self.cwd,
        )
        with Sampler({"export_process": proc.pid}) as smp:
            _o, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"labelhouse export failed: {err.decode()[-2000:]}")
        return {
            "seconds": round(time.perf_counter() - t0, 2),
            "bytes": out.stat().st_size,
            "export_process_peak_rss_mib": smp.peak_mib("export_process"),
        }


def _parse_created(stdout: str) -> int | None:
    for line in stdout.splitlines():
        if line.startswith("created "):
            try:
                return int(line.split()[1].rstrip(","))
            except ValueError:
                return None
    return None


# ============================================================================================
# Label Studio (the peer), adapted from shared/bench/labelstudio/driver.py
# ============================================================================================
class LabelStudioSystem:
    """A Label Studio 1.23.x that is already running (community edition, legacy token auth).

    Start it with shared/bench/labelstudio/setup.sh; pass its URL, the admin token and, for
    memory sampling, its PID. It is never started or stopped here.
    """

    name = "labelstudio"
    CONFIG = (
        '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text" choice="single">'
        + "".join(f'<Choice value="{v}"/>' for v in LABELS)
        + "</Choices></View>"
    )

    def __init__(self, url: str, token: str, pid: int | None = None, import_batch: int = 10000) -> None:
        check_loopback(url)
        self.base_url = url.rstrip("/")
        self.token = token
        self._pid = pid
        self.import_batch = import_batch
        self._http = httpx.Client(
            base_url=self.base_url, trust_env=False, timeout=3600, headers={"Authorization": f"Token {token}"}
        )
        self._tag = time.strftime("%H%M%S")
        self._ann_batches = 0

    @property
    def server_pid(self) -> int | None:
        return self._pid

    def start(self) -> None:
        r = self._http.get("/health/", timeout=10)
        if r.status_code != 200:
            raise RuntimeError(f"Label Studio at {self.base_url} is not healthy: HTTP {r.status_code}")
        r = self._http.get("/api/projects/", timeout=30)
        if r.status_code != 200:
            raise RuntimeError(f"Label Studio token refused: HTTP {r.status_code} {r.text[:200]}")

    def stop(self) -> None:  # not ours to stop
        self._http.close()

    def describe(self) -> dict[str, Any]:
        return {"system": self.name, "url": self.base_url, "pid": self._pid}

    def create_project(
        self, n_tasks: int, overlap: int = 1, *, seed: int = 1, via: str = "auto"
    ) -> ProjectRef:
        r = self._http.post(
            "/api/projects/",
            json={
                "title": f"bench-{self._tag}-{n_tasks}",
                "label_config": self.CONFIG,
                "maximum_annotations": overlap,
            },
        )
        r.raise_for_status()
        pid = r.json()["id"]
        t0 = time.perf_counter()
        batch: list[dict[str, Any]] = []
        for it in make_items(n_tasks, seed):
            batch.append({"data": it})
            if len(batch) >= self.import_batch:
                self._http.post(f"/api/projects/{pid}/import", json=batch).raise_for_status()
                batch = []
        if batch:
            self._http.post(f"/api/projects/{pid}/import", json=batch).raise_for_status()
        return ProjectRef(pid, n_tasks, overlap, round(time.perf_counter() - t0, 2), "http")

    def make_annotators(self, n: int) -> list[str]:
        """No admin API returns another user's token: each annotator signs up through the web form."""
        self._ann_batches += 1
        out = []
        for i in range(n):
            email = f"ann{i:03d}-{self._tag}-{self._ann_batches}@bench.example.com"
            password = f"Annot-{self._tag}-pw{i}"
            with httpx.Client(base_url=self.base_url, trust_env=False, timeout=60) as s:
                s.get("/user/signup/")
                csrf = s.cookies.get("csrftoken", "")
                r = s.post(
                    "/user/signup/",
                    data={"csrfmiddlewaretoken": csrf, "email": email, "password": password},
                    headers={"X-CSRFToken": csrf, "Referer": self.base_url + "/user/signup/"},
                )
                if r.status_code not in (200, 302):
                    raise RuntimeError(f"signup {email}: HTTP {r.status_code}")
                r = s.get("/api/current-user/token")
                r.raise_for_status()
                out.append(r.json()["token"])
        return out

    async def next(self, conn: Conn, token: str, project: ProjectRef) -> Task | None:
        path = f"/api/projects/{project.id}/next/"
        status, body = await conn.request("GET", path, headers={"Authorization": f"Token {token}"})
        if status == 404:
            return None
        if status != 200:
            raise HttpError("GET", path, status, body)
        j = _loads(body)
        return Task(j["id"], None, j.get("data", {}))

    async def submit(self, conn: Conn, token: str, task: Task, label: str) -> None:
        path = f"/api/tasks/{task.id}/annotations/"
        payload = _dumps(
            {
                "result": [
                    {
                        "from_name": "sentiment",
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": [label]},
                    }
                ],
                "lead_time": 1.0,
            }
        )
        status, body = await conn.request(
            "POST", path, headers={"Authorization": f"Token {token}"}, body=payload
        )
        if status not in (200, 201):
            raise HttpError("POST", path, status, body)

    def export(self, project: ProjectRef, *, parse: bool = True, sample_interval: float = 0.2) -> ExportStats:
        t0 = time.perf_counter()
        keep = bytearray()
        n = 0
        with Sampler({"server": self._pid}, sample_interval) as smp:
            with self._http.stream(
                "GET",
                f"/api/projects/{project.id}/export",
                params={"exportType": "JSON", "download_all_tasks": "false"},
            ) as r:
                r.raise_for_status()
                for chunk in r.iter_bytes():
                    n += len(chunk)
                    if parse:
                        keep += chunk
        per = None
        if parse:
            per = {
                t["id"]: sum(1 for a in t.get("annotations", []) if not a.get("was_cancelled"))
                for t in json.loads(bytes(keep))
            }
        return ExportStats(
            round(time.perf_counter() - t0, 2),
            n,
            len(per) if per is not None else 0,
            smp.peak_mib("server") if self._pid else None,
            per,
        )

    def check_db(self, project: ProjectRef) -> dict[str, Any] | None:
        return None


def make_peer(args: Any) -> System | None:
    """``--peer labelstudio --peer-url URL --peer-token T [--peer-pid PID]`` -> a System, else None."""
    if not getattr(args, "peer", None):
        return None
    if args.peer != "labelstudio":
        raise SystemExit(f"unknown peer {args.peer!r}; known: labelstudio")
    if not args.peer_url or not args.peer_token:
        print(
            "note: --peer labelstudio needs --peer-url and --peer-token; reporting labelhouse alone",
            file=sys.stderr,
        )
        return None
    return LabelStudioSystem(args.peer_url, args.peer_token, int(args.peer_pid) if args.peer_pid else None)


def add_peer_args(p: Any) -> None:
    g = p.add_argument_group("peer (same run, same workload)")
    g.add_argument(
        "--peer",
        choices=["labelstudio"],
        default=None,
        help="also run the peer; it must already be running (shared/bench/labelstudio/setup.sh start)",
    )
    g.add_argument(
        "--peer-url", default=os.environ.get("PEER_URL", ""), help="e.g. http://127.0.0.1:8080 [PEER_URL]"
    )
    g.add_argument(
        "--peer-token", default=os.environ.get("PEER_TOKEN", ""), help="admin API token [PEER_TOKEN]"
    )
    g.add_argument(
        "--peer-pid", default=os.environ.get("PEER_PID", ""), help="server PID for RSS/CPU [PEER_PID]"
    )


def _proc_cpu_matching(name: str, needle: str) -> float:
    """CPU seconds of the processes called ``name`` whose command line holds ``needle``, from
    /proc (Linux, without psutil); a PostgreSQL backend's command line names its database."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm != name or needle not in cmdline:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _proc_cpu_s(pid: int | None) -> float | None:
    """A process's user + system CPU seconds (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
