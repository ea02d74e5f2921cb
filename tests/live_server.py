"""Run the real app under uvicorn in a thread, on a free loopback port, for tests that need a
real server (real sockets, real concurrency)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from labelhouse.api.app import create_app
from labelhouse.api.onewrite import OneWriteHttpToolsProtocol
from labelhouse.runtime import Runtime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(rt: Runtime) -> Iterator[str]:
    port = free_port()
    # The protocol `labelhouse serve` runs (cli/server.py).
    config = uvicorn.Config(
        create_app(rt, run_jobs=True),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http=OneWriteHttpToolsProtocol,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        raise RuntimeError("the test server did not start")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
