"""PostgreSQL on the event loop: synchronous units of work run as greenlets over asyncio psycopg.

The labeling loop's services are plain synchronous functions. On PostgreSQL they ran on a thread
pool, and each of their few round trips then cost a thread hand-off and a fight for the GIL with
forty other threads: the server spent about as much CPU on that as on the work. Here the same
function runs in a greenlet on the event loop (SQLAlchemy's ``greenlet_spawn``, the bridge its
own asyncio extension uses); its ``Database.raw()`` units of work get an asyncio psycopg
connection behind a synchronous face, and every wait for the server (``await_``) hands the loop
to other requests instead of blocking it. Many transactions are still in flight at once, so the
server still groups their commits' WAL flushes.
"""

from __future__ import annotations

import asyncio
import select
import weakref
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import orjson
from sqlalchemy.util import await_, greenlet_spawn

T = TypeVar("T")


class GreenCursor:
    """The synchronous face of an asyncio psycopg cursor, for code running in a greenlet."""

    __slots__ = ("_cur",)

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def execute(self, query: str) -> GreenCursor:
        await_(self._cur.execute(query))
        return self

    def fetchall(self) -> list[Any]:
        rows: list[Any] = await_(self._cur.fetchall())
        return rows

    def nextset(self) -> bool | None:
        more: bool | None = self._cur.nextset()
        return more

    def executemany(self, query: str, rows: Any) -> None:
        await_(self._cur.executemany(query, rows))

    def close(self) -> None:
        await_(self._cur.close())

    def mogrify(self, query: str, params: Any) -> str:
        text: str = self._cur.mogrify(query, params)
        return text

    @property
    def pgresult(self) -> Any:
        return self._cur.pgresult

    @property
    def rowcount(self) -> int:
        count: int = self._cur.rowcount
        return count


class GreenConnection:
    """The synchronous face of an asyncio psycopg connection (autocommit), as ``Raw`` uses it."""

    __slots__ = ("connection", "__weakref__")

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @property
    def autocommit(self) -> bool:
        return True

    @property
    def info(self) -> Any:
        return self.connection.info

    def cursor(self) -> GreenCursor:
        return GreenCursor(self.connection.cursor())

    def client_cursor(self) -> GreenCursor:
        import psycopg

        return GreenCursor(psycopg.AsyncClientCursor(self.connection))


class LoopPool:
    """Asyncio psycopg connections for one event loop, at most ``size`` open at once."""

    def __init__(self, url: str, size: int) -> None:
        self._url = url
        self._size = size
        self._open = 0
        self._idle: list[Any] = []
        self._waiters: deque[asyncio.Future[Any]] = deque()

    async def get(self) -> Any:
        while self._idle:
            conn = self._idle.pop()
            if _looks_alive(conn):
                return conn
            await _close(conn)
            self._open -= 1
        if self._open >= self._size:
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            conn = await waiter  # a connection handed over, or None: a slot to open one in
            if conn is not None:
                return conn
        else:
            self._open += 1
        try:
            import psycopg
            from psycopg.types.json import set_json_loads

            conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True, prepare_threshold=None)
            set_json_loads(orjson.loads, conn)  # as the engine's connections read JSON
            return conn
        except BaseException:
            self._release_slot()
            raise

    def put(self, conn: Any, usable: bool) -> None:
        """Give a connection back; one that is not ``usable`` (its transaction could not be
        ended) is closed and its place freed."""
        if not usable or conn.closed or conn.broken:
            conn.pgconn.finish()
            self._release_slot()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _release_slot(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # that waiter opens a connection in this place
                return
        self._open -= 1

    def close(self) -> None:
        for conn in self._idle:
            conn.pgconn.finish()
        self._open -= len(self._idle)
        self._idle = []


def _looks_alive(conn: Any) -> bool:
    """Like ``database._looks_alive``: an idle connection with something to read was closed by
    the server."""
    from psycopg import pq

    if conn.closed or conn.broken or conn.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    return not poller.poll(0)


async def _close(conn: Any) -> None:
    try:
        await conn.close()
    except Exception:
        conn.pgconn.finish()


# The pool of the unit of work's greenlet, while ``OnLoop.run`` runs a function.
_active: ContextVar[LoopPool | None] = ContextVar("labelhouse_green_pool", default=None)


class OnLoop:
    """A database's pools of asyncio connections, one per event loop (a server has one; tests
    start a loop per client)."""

    def __init__(self, url: str, size: int) -> None:
        self._url = url
        self._size = size
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopPool] = (
            weakref.WeakKeyDictionary()
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a greenlet on this loop: its ``Database.raw()`` units of work use
        this loop's asyncio connections."""
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = LoopPool(self._url, self._size)
        token = _active.set(pool)
        try:
            return await greenlet_spawn(fn, *args)
        finally:
            _active.reset(token)

    def close(self) -> None:
        for pool in list(self._pools.values()):
            pool.close()
        self._pools.clear()


def active_pool() -> LoopPool | None:
    """The asyncio pool of the greenlet running now, if ``OnLoop.run`` started it."""
    return _active.get()


def take(pool: LoopPool) -> Any:
    """A connection from ``pool``, waited for without blocking the loop (inside the greenlet)."""
    return await_(pool.get())
