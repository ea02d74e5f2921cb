"""A response's head and body leave the server in one write (api/onewrite.py)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from labelhouse.api.onewrite import OneWriteHttpToolsProtocol, OneWriteTransport
from tests.live_server import free_port


class Recording:
    """A transport that records what reaches it, one entry per write call."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.calls.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        self.calls.append(b"".join(chunks))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def test_two_writes_leave_as_one_and_a_lone_write_leaves_on_the_next_turn() -> None:
    async def scenario() -> list[list[bytes]]:
        real = Recording()
        t = OneWriteTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        seen = []
        t.write(b"HEAD")
        t.write(b"BODY")
        seen.append(list(real.calls))  # head and body together, at once
        t.write(b"LONE")
        seen.append(list(real.calls))  # held for now
        await asyncio.sleep(0)
        seen.append(list(real.calls))  # sent on the next turn of the loop
        t.write(b"LAST")
        t.close()
        seen.append(list(real.calls))  # close sends what is held first
        assert real.closed and t.get_write_buffer_size() == 0
        return seen

    seen = asyncio.run(scenario())
    assert seen[0] == [b"HEADBODY"]
    assert seen[1] == [b"HEADBODY"]
    assert seen[2] == [b"HEADBODY", b"LONE"]
    assert seen[3] == [b"HEADBODY", b"LONE", b"LAST"]


def test_abort_drops_what_is_held() -> None:
    async def scenario() -> Recording:
        real = Recording()
        t = OneWriteTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        t.write(b"HEAD")
        assert t.get_write_buffer_size() == 4
        t.abort()
        await asyncio.sleep(0)
        return real

    real = asyncio.run(scenario())
    assert real.aborted and real.calls == []


# -- under uvicorn, on a real socket --------------------------------------------------------------

WRITES: list[int] = []


class _Counting:
    """Counts the write calls that reach the event loop's transport (each is one send)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._t = transport

    def write(self, data: bytes) -> None:
        WRITES.append(len(data))
        self._t.write(data)

    def writelines(self, chunks: Any) -> None:
        chunks = list(chunks)
        WRITES.append(sum(len(c) for c in chunks))
        self._t.writelines(chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)


class CountedOneWrite(OneWriteHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Counting(transport))  # type: ignore[arg-type]


class CountedPlain(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Counting(transport))  # type: ignore[arg-type]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":

        async def pieces() -> Any:
            for i in range(3):
                await asyncio.sleep(0.01)
                yield f"piece {i}\n".encode()

        await StreamingResponse(pieces(), media_type="text/plain")(scope, receive, send)
        return
    await Response(b'{"ok": true}', media_type="application/json")(scope, receive, send)


@contextmanager
def serving(protocol: type[asyncio.Protocol]) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=protocol, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _exchange(sock: socket.socket, path: str, until: bytes) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    got = b""
    while until not in got:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        got += chunk
    return got


@pytest.mark.parametrize(("protocol", "writes_per_response"), [(CountedOneWrite, 1), (CountedPlain, 2)])
def test_a_response_is_one_write_under_uvicorn(
    protocol: type[asyncio.Protocol], writes_per_response: int
) -> None:
    with serving(protocol) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        WRITES.clear()
        for _ in range(5):
            got = _exchange(sock, "/", b'{"ok": true}')
            assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(b'\r\n\r\n{"ok": true}')
        assert len(WRITES) == 5 * writes_per_response


def test_a_streamed_response_arrives_whole_on_a_kept_alive_connection() -> None:
    with serving(CountedOneWrite) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        got = _exchange(sock, "/stream", b"0\r\n\r\n")
        assert b"transfer-encoding: chunked" in got
        assert all(f"piece {i}\n".encode() in got for i in range(3))
        assert _exchange(sock, "/", b'{"ok": true}').endswith(b'{"ok": true}')
