"""The real app under uvicorn on a free local port, for the SDK to talk to over real HTTP."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from labelhouse.api.app import create_app
from labelhouse.runtime import Runtime
from labelhouse.sdk import Client
from tests.conftest import Person


@contextmanager
def serve(rt: Runtime) -> Iterator[str]:
    """Run the app with its job thread in a background thread; yield its URL, stop it after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the port is held from here on, so no other process can take it
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(rt, run_jobs=True), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        _wait_healthy(url, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
    assert not thread.is_alive(), "the test server did not stop"


def _wait_healthy(url: str, thread: threading.Thread, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if not thread.is_alive():
            raise RuntimeError("the test server exited while starting; see the log above")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the test server at {url} was not healthy after {timeout}s")
        time.sleep(0.05)


@pytest.fixture
def server(rt: Runtime) -> Iterator[str]:
    """The URL of the real app on this test's database (SQLite or PostgreSQL)."""
    with serve(rt) as url:
        yield url


@pytest.fixture
def server_with(rt: Runtime) -> Iterator[Callable[..., str]]:
    """Start servers on this test's database with some settings changed; return their URLs."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> str:
            settings = rt.settings.with_overrides(**overrides)
            return stack.enter_context(serve(dataclasses.replace(rt, settings=settings)))

        yield start


@pytest.fixture
def lh(server: str, owner: Person) -> Iterator[Client]:
    """A client for the workspace owner."""
    with Client(server, owner.token) as client:
        yield client


@pytest.fixture
def connect(server: str) -> Iterator[Callable[[str], Client]]:
    """Open clients to ``server`` with a given token; all are closed after the test."""
    opened: list[Client] = []

    def make(token: str) -> Client:
        opened.append(Client(server, token))
        return opened[-1]

    yield make
    for client in opened:
        client.close()
