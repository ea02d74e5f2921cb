"""The PostgreSQL labeling loop's threads: a call handed from the event loop and its result back.

``loop.run_in_executor`` over a ``ThreadPoolExecutor`` makes, per call, a ``concurrent.futures``
future (with its ``Condition`` and lock), an asyncio future chained to it, and callbacks that copy
the outcome across: about a tenth of the server's GIL samples in the PostgreSQL loop
(docs/performance.md). Here a call is one tuple on a ``SimpleQueue`` and one
``call_soon_threadsafe`` back to the loop's own future.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[
    asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context, Callable[..., Any], tuple[Any, ...]
]


class HotThreads:
    """``size`` daemon threads running calls for the event loop, each in the caller's context (its
    workspace scope). A call whose awaiting task was cancelled still runs to its end (as with an
    executor: a unit of work is not interrupted halfway); its outcome is dropped."""

    def __init__(self, size: int, name: str = "labelhouse-hot") -> None:
        # One wake-up per call (None: stop); the call itself waits in one of two lines, and a
        # thread takes from ``_first`` before ``_then``. Each wake-up is put after its call, so a
        # woken thread always finds one.
        self._wake: queue.SimpleQueue[bool | None] = queue.SimpleQueue()
        self._first: collections.deque[_Job] = collections.deque()
        self._then: collections.deque[_Job] = collections.deque()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def size(self) -> int:
        return len(self._threads)

    async def call(self, fn: Callable[..., T], *args: Any, first: bool = False) -> T:
        """Run ``fn(*args)`` on a thread; with ``first``, before every waiting call without it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        (self._first if first else self._then).append((loop, future, contextvars.copy_context(), fn, args))
        self._wake.put(True)
        return await future

    def _take(self) -> _Job:
        while True:  # another thread may have taken the last of a line since it was looked at
            try:
                return self._first.popleft()
            except IndexError:
                pass
            try:
                return self._then.popleft()
            except IndexError:
                continue

    def _work(self) -> None:
        wake = self._wake
        while True:
            if wake.get() is None:
                return
            loop, future, context, fn, args = self._take()
            how: Callable[[asyncio.Future[Any], Any], None]
            try:
                value: Any = context.run(fn, *args)
                how = _succeed
            except BaseException as exc:  # the awaiting request reports it
                value, how = exc, _fail
            _deliver(loop, future, how, value)
            # nothing of a finished call stays referenced by an idle thread
            del loop, future, context, fn, args, value, how

    def stop(self) -> None:
        """Let the threads finish what they run and end (tests; the server's threads are daemons)."""
        for _ in self._threads:
            self._wake.put(None)
        for thread in self._threads:
            thread.join()


def _deliver(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    how: Callable[[asyncio.Future[Any], Any], None],
    value: Any,
) -> None:
    try:
        loop.call_soon_threadsafe(how, future, value)
    except RuntimeError:
        pass  # the loop was closed meanwhile (shutdown): nobody awaits this any more


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
