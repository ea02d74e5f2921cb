"""Loopback canary servers and a connect() recorder for the SSRF tests (ATTACKS.md §0).

"External" and "internal" are emulated inside 127.0.0.0/8: tests open 127.0.0.2 with the
allowlist (``LABELHOUSE_OUTBOUND_ALLOW``) and leave 127.0.0.1 and 127.0.0.3 as the internal
network. A canary counts every TCP connection it accepts, so "refused" is proved by a count of 0.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# path -> (status, headers, body); body may be a callable writing to the socket file itself
Route = tuple[int, dict[str, str], bytes | Callable[[Any], None]]


@dataclass
class Canary:
    host: str
    routes: dict[str, Route] = field(default_factory=dict)
    connections: int = 0
    paths: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def url(self, path: str = "/x") -> str:
        return f"http://{self.host}:{self.port}{path}"


def start_canary(host: str, routes: dict[str, Route] | None = None) -> Canary:
    canary = Canary(host, dict(routes or {}))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            canary.paths.append(self.path)
            status, headers, body = canary.routes.get(self.path, (200, {}, b"canary"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if callable(body):
                self.end_headers()
                try:
                    body(self.wfile)
                except OSError:
                    pass
                return
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request: Any, client_address: Any) -> bool:
            canary.connections += 1
            return True

    canary.server = Server((host, 0), Handler)
    threading.Thread(target=canary.server.serve_forever, args=(0.05,), daemon=True).start()
    return canary


@pytest.fixture
def canaries() -> Iterator[Callable[..., Canary]]:
    started: list[Canary] = []

    def make(host: str, routes: dict[str, Route] | None = None) -> Canary:
        c = start_canary(host, routes)
        started.append(c)
        return c

    yield make
    for c in started:
        assert c.server is not None
        c.server.shutdown()
        c.server.server_close()


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every address this process tries to connect() to; anything off loopback is an error."""
    seen: list[Any] = []
    real = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        seen.append(address)
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(address, tuple) and not (host.startswith("127.") or host == "::1"):
            raise AssertionError(f"a test tried to connect off the machine: {address}")
        real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def trickle(seconds: float) -> Callable[[Any], None]:
    """A body that sends one byte every 0.2 s for ``seconds``."""

    def write(out: Any) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            out.write(b"x")
            out.flush()
            time.sleep(0.2)

    return write


def endless(out: Any) -> None:
    chunk = b"\0" * 65536
    for _ in range(100_000):
        out.write(chunk)
