"""Request rate limit per credential (ATTACKS R-02): one client cannot take the server from others.

Each bearer token and each browser session has its own bucket of ``LABELHOUSE_RATE_LIMIT``
requests a second (bursts of ten seconds' worth); calls without a credential share one bucket per
client address. Over it, the answer is ``429 too_many`` with ``Retry-After``, before any database
work. It covers every API path, the fast lane included; the health check and the UI's static
files are not counted. The key is a hash of the credential, never the credential itself.
"""

from __future__ import annotations

import hashlib
import math
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from labelhouse.api.errors import error_response
from labelhouse.security.ratelimit import TokenBuckets

_EXEMPT = ("/api/v1/health",)
SESSION_COOKIE = b"lh_session="


def credential_key(scope: Scope) -> str:
    """Who is calling, as far as the rate limit cares: a hash of the token or session cookie,
    else the client address."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value:
            return "t:" + hashlib.sha256(value).hexdigest()[:32]
        if name == b"cookie" and SESSION_COOKIE in value:
            start = value.index(SESSION_COOKIE) + len(SESSION_COOKIE)
            cookie = value[start:].split(b";", 1)[0]
            return "s:" + hashlib.sha256(cookie).hexdigest()[:32]
    client = scope.get("client")
    return "a:" + (client[0] if client else "-")


class Throttle:
    def __init__(self, app: ASGIApp, per_second: float) -> None:
        self.app = app
        self.buckets = (
            TokenBuckets(per_second, burst=max(1, int(per_second * 10))) if per_second > 0 else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.buckets is None or scope["type"] != "http" or not path.startswith("/api/") or path in _EXEMPT:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(credential_key(scope), time.monotonic())
        if wait is None:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        response = error_response(
            429,
            "too_many",
            f"too many requests from this token; retry after {seconds} s "
            "(the limit is LABELHOUSE_RATE_LIMIT requests a second per token)",
        )
        response.headers["Retry-After"] = str(seconds)
        await response(scope, receive, send)
