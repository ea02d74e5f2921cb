"""CPU per next + submit pair inside the app, without sockets: the ASGI app driven directly.

    PYTHONPATH=/path/to/tree python bench/lane_cpu.py --tasks 20000 --pairs 6000

Builds a SQLite install in a temporary folder (``LABELHOUSE_RATE_LIMIT`` high enough that the
rate limit never refuses but is still taken), imports ``--tasks`` items, makes 32 annotators,
then calls the app's ASGI entry point itself on one event loop, annotator after annotator:
``next``, then ``submit`` of what it handed out. It prints the process CPU time per pair
(``time.process_time``: all of the process's threads, so the SQLite checkpoint thread is in it)
over ``--pairs`` pairs after ``--warmup`` pairs, in several slices, and their median.

What it leaves out is uvicorn (HTTP parsing, the socket writes): the part of a pair's cost that
the app's own code decides (the fast lane, the middleware, the services, the SQL). Being one
thread on CPU time, it is far less moved by other processes than ``bench/loop.py``; A/B two
trees by running it alternately with each on ``PYTHONPATH`` (the file imports only public
names that both have).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from labelhouse.api.app import create_app
from labelhouse.runtime import open_runtime
from labelhouse.services import accounts
from labelhouse.services.clock import utcnow
from labelhouse.settings import load_settings

SCHEMA = {"controls": [{"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]}]}


async def call(app: Any, method: str, path: str, token: str, body: bytes) -> tuple[int, bytes]:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", b"Bearer " + token.encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def pair(app: Any, token: str, pid: int) -> None:
    status, body = await call(app, "POST", f"/api/v1/projects/{pid}/next", token, b"")
    if status != 200:
        raise SystemExit(f"next answered {status}: {body[:200]!r}")
    handout = orjson.loads(body)
    submit = orjson.dumps(
        {"answer": {"label": "pos"}, "lease_id": handout["lease"]["id"], "idempotency_key": str(uuid.uuid4())}
    )
    status, body = await call(
        app, "POST", f"/api/v1/tasks/{handout['task']['id']}/annotations", token, submit
    )
    if status != 201:
        raise SystemExit(f"submit answered {status}: {body[:200]!r}")


def _token(rt: Any, email: str, role: str) -> str:
    """A new member of workspace ``bench`` and their API token."""
    with rt.db.session() as s:
        _, _, issued = accounts.create_user_cli(
            s, email, workspace="bench", role=role, password=None, with_token=True, now=utcnow()
        )
        assert issued is not None
        return issued.token


async def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    env = {"LABELHOUSE_RATE_LIMIT": "1000000"}
    rt = open_runtime(load_settings(env=env, data_dir=folder / "data", job_threads=0))
    owner = _token(rt, "owner@bench.test", "owner")
    tokens = [_token(rt, f"a{i}@bench.test", "annotator") for i in range(args.annotators)]
    app = create_app(rt, run_jobs=False)
    status, body = await call(
        app, "POST", "/api/v1/projects", owner, orjson.dumps({"name": "p", "schema": SCHEMA})
    )
    assert status == 201, body
    pid = int(orjson.loads(body)["id"])
    for start in range(0, args.tasks, 5000):
        items = orjson.dumps([{"text": f"row {i}"} for i in range(start, min(args.tasks, start + 5000))])
        status, body = await call(app, "POST", f"/api/v1/projects/{pid}/items", owner, items)
        assert status == 201, body
    rt.db.keep_connection()  # as the server's lifespan does
    # A token's lookup is cached for 5 s, then one ORM read (~0.7 ms of CPU). How many pairs
    # share that read depends on the clock (under callgrind, 50 times fewer), so keep the
    # cache warm here: the figure is the per-pair cost; bench/loop.py has the misses.
    accounts.actor_cache.TTL = 1e9
    n = 0
    for _ in range(args.warmup):
        await pair(app, tokens[n % len(tokens)], pid)
        n += 1
    sync = Path(os.environ["LH_LANE_SYNC"]) if os.environ.get("LH_LANE_SYNC") else None
    if sync is not None:  # bench/lane_instructions.sh turns callgrind's counting on around the pairs
        _handshake(sync, "ready", "go")
    slices = []
    per_slice = args.pairs // args.slices
    for _ in range(args.slices):
        t0 = time.process_time()
        for _ in range(per_slice):
            await pair(app, tokens[n % len(tokens)], pid)
            n += 1
        slices.append((time.process_time() - t0) / per_slice * 1e6)
    if sync is not None:
        _handshake(sync, "done", "stop")
    rt.db.release_connection()
    rt.db.dispose()
    return {
        "us_per_pair_slices": [round(x, 1) for x in slices],
        "us_per_pair_median": round(statistics.median(slices), 1),
    }


def _handshake(folder: Path, mine: str, theirs: str) -> None:
    (folder / mine).touch()
    while not (folder / theirs).exists():
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--annotators", type=int, default=32)
    parser.add_argument("--pairs", type=int, default=6000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--slices", type=int, default=6)
    args = parser.parse_args()
    if args.warmup + args.pairs > args.tasks:
        raise SystemExit("--warmup + --pairs must not pass --tasks (each pair labels one task)")
    with tempfile.TemporaryDirectory(prefix="lh-lane-cpu-") as folder:
        result = asyncio.run(run(args, Path(folder)))
    import labelhouse

    result["tree"] = str(Path(labelhouse.__file__).parent.parent)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
