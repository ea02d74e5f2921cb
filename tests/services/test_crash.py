"""kill -9 the server process in the middle of submissions: every acknowledged annotation is
there after a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson
from sqlalchemy import text

from labelhouse.runtime import Runtime
from tests.conftest import CHOICES_SCHEMA, make_person
from tests.live_server import free_port


def _start(rt: Runtime, port: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        LABELHOUSE_DATA=str(rt.settings.data_dir),
        LABELHOUSE_DATABASE_URL=rt.settings.database_url,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "labelhouse.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90  # generous: a loaded 2-core machine can take long to start Python
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def test_acknowledged_annotations_survive_kill_9(rt: Runtime, tmp_path: Path) -> None:
    owner = make_person(rt, "owner@acme.test")
    people = [make_person(rt, f"a{i}@acme.test", role="annotator") for i in range(4)]
    rt.db.dispose()  # the server process owns the database now
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(rt, port)
    acked: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        with httpx.Client(base_url=url, headers=owner.headers) as c:
            pid = c.post("/api/v1/projects", json={"name": "crash", "schema": CHOICES_SCHEMA}).json()["id"]
            c.post(f"/api/v1/projects/{pid}/items", json=[{"text": f"t{i}"} for i in range(5000)])

        def work(person) -> None:  # type: ignore[no-untyped-def]
            with httpx.Client(base_url=url, headers=person.headers, timeout=5) as c:
                while not stop.is_set():
                    try:
                        h = c.post(f"/api/v1/projects/{pid}/next").json()
                        r = c.post(
                            f"/api/v1/tasks/{h['task']['id']}/annotations",
                            json={
                                "answer": {"label": "neg"},
                                "lease_id": h["lease"]["id"],
                                "idempotency_key": str(uuid.uuid4()),
                            },
                        )
                        if r.status_code == 201:
                            with lock:
                                acked.append(r.json()["id"])
                    except (httpx.HTTPError, ValueError, KeyError):
                        return

        threads = [threading.Thread(target=work, args=(p,)) for p in people]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-flight: threads are still submitting
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(acked) >= 150
    proc = _start(rt, port)  # restart: recovery of the WAL happens here
    try:
        with httpx.Client(base_url=url, headers=owner.headers) as c:
            lines = c.get(f"/api/v1/projects/{pid}/export?format=jsonl").text.splitlines()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    exported = {a["id"] for line in lines for a in orjson.loads(line)["annotations"]}
    missing = set(acked) - exported
    assert not missing, f"{len(missing)} acknowledged annotations lost"
    with rt.db.session(write=False) as s:
        n = s.execute(text("SELECT COUNT(*) FROM annotations")).scalar_one()
    assert n >= len(acked)
