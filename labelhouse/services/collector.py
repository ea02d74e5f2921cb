"""Bulk work and CPython's cyclic garbage collector.

An import keeps a batch of rows (10,000 ``ImportRow`` objects, their checked and sealed forms)
alive across many young-generation collections, so each batch is promoted to the oldest
generation and then dies there; promotions count towards the next full collection, and a full
collection walks every tracked object of the process (the server's modules, SQLAlchemy's
caches...). With the default threshold (a young collection every 700 net allocations) a
1,000,000-row import ran ~49 full collections and ~6,000 young ones: **a third of the CPU of
reading, checking and sealing** (docs/performance.md, "Bulk import and export on a busy
machine").

``fewer_collections()`` raises the young generation's threshold while bulk work runs (every
10,000 allocations instead of 700): the same objects are freed by reference counting as before,
cyclic garbage is found a little later, and a full collection happens a few times per million
rows. The setting is the process's, so nested and concurrent users are counted and the first
setting comes back when the last one ends. A threshold of 0 (collection disabled) is left alone.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_GEN0 = 10_000

_lock = threading.Lock()
_users = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Young collections every ``BULK_GEN0`` allocations while the block runs."""
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            if 0 < _saved[0] < BULK_GEN0:
                gc.set_threshold(BULK_GEN0, *_saved[1:])
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
