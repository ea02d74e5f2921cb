"""Run an importing function once per process, thread-safely: how registries load built-ins."""

from __future__ import annotations

import threading
from collections.abc import Callable


class LoadOnce:
    """Calls ``load`` the first time it is called; later calls return at once.

    Marked done only after ``load`` returns, under a lock: the first requests of a fresh server
    come in concurrently, and no thread may see a half-filled registry.
    """

    def __init__(self, load: Callable[[], None]) -> None:
        self._load = load
        self._done = False
        self._lock = threading.RLock()

    def __call__(self) -> None:
        if self._done:
            return
        with self._lock:
            if self._done:
                return
            self._load()
            self._done = True
