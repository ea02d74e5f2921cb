"""uvicorn's HTTP protocol with a response's head and body sent in one write.

uvicorn writes a response's status line and headers (at ``http.response.start``) and its body
(at ``http.response.body``) as two ``transport.write`` calls, and uvloop sends each at once: two
``send`` syscalls and two TCP segments for every small JSON response. In the labeling loop
(bench/loop.py, SQLite, py-spy ``--gil``) the two writes were 26 % of the server's samples.

``OneWriteTransport`` holds one write back and sends it together with the next one
(``writelines``: one ``writev``, no copy), so a head plus a body leave in one segment. A held
write never waits for more than the rest of the current event-loop turn: a ``call_soon`` sends
it if nothing follows (a streamed response whose next chunk is slow, a ``100 Continue``), and
``close`` sends it first. Everything else goes to the real transport untouched.

What it saves is one syscall per response, about 5 % of the server's CPU per next + submit pair
(docs/performance.md): the one write is still 24 % of the samples, since most of a loopback
send's cost is delivering to and waking the reader, paid once per response either way.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class OneWriteTransport:
    """Wraps an ``asyncio.Transport``: each write is sent together with the one after it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | bytearray | memoryview | None = None
        self._flush_soon = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = data
            if not self._flush_soon:
                self._flush_soon = True
                self._loop.call_soon(self._flush_later)
            return
        self._held = None
        self._transport.writelines((held, data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send the held write, if any, now."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def _flush_later(self) -> None:
        self._flush_soon = False
        if not self._transport.is_closing():
            self.flush()

    def get_write_buffer_size(self) -> int:
        held = 0 if self._held is None else len(self._held)
        return held + self._transport.get_write_buffer_size()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        if not self._transport.is_closing():
            self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # is_closing, get_extra_info, pause_reading, resume_reading, set_protocol, ...
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a ``OneWriteTransport`` (``uvicorn.run(..., http=...)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(OneWriteTransport(transport, self.loop))  # type: ignore[arg-type]
