"""Counting failures per key in a sliding window: the login limiter. Pure: time is passed in."""

from __future__ import annotations

import threading
from collections import deque


class FailureLimiter:
    """At most ``limit`` failures per key within ``window`` seconds; then the key waits until the
    oldest failure leaves the window. Per process: several server processes each count their own."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float) -> float | None:
        """Seconds to wait before ``key`` may try again, or None when it may try now."""
        with self._lock:
            times = self._failures.get(key)
            if not times:
                return None
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) < self.limit:
                return None
            return max(0.0, times[0] + self.window - now)

    def fail(self, key: str, now: float) -> None:
        with self._lock:
            if len(self._failures) >= self.max_keys:
                self._failures.clear()  # bounded memory under a flood of made-up keys
            self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class TokenBuckets:
    """Request rate per key: ``rate`` requests a second on average, bursts of ``burst``.

    Each key's bucket holds up to ``burst`` tokens, refilled at ``rate`` a second; a request takes
    one. Memory is bounded by ``max_keys`` (a flood of made-up keys resets the table, which errs on
    the side of letting requests through). Per process, like ``FailureLimiter``."""

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, now: float) -> float | None:
        """Take one token for ``key``: None when allowed, else the seconds until one is free."""
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._buckets.clear()
            self._buckets[key] = (tokens - 1.0, now)
            return None
