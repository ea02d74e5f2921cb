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

from starlette.responses import Response
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


def buckets_for(per_second: float) -> TokenBuckets | None:
    """The buckets of ``LABELHOUSE_RATE_LIMIT`` (bursts of ten seconds' worth); None when 0."""
    return TokenBuckets(per_second, burst=max(1, int(per_second * 10))) if per_second > 0 else None


def refusal(buckets: TokenBuckets, scope: Scope) -> Response | None:
    """Take one request from the caller's bucket: None when it may go on, else its 429."""
    wait = buckets.take(credential_key(scope), time.monotonic())
    if wait is None:
        return None
    seconds = max(1, math.ceil(wait))
    response = error_response(
        429,
        "too_many",
        f"too many requests from this token; retry after {seconds} s "
        "(the limit is LABELHOUSE_RATE_LIMIT requests a second per token)",
    )
    response.headers["Retry-After"] = str(seconds)
    return response


class Throttle:
    """The limit on every API path; the fast lane (api/fastlane.py) takes from the same buckets."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets | None) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.buckets is None or scope["type"] != "http" or not path.startswith("/api/") or path in _EXEMPT:
            await self.app(scope, receive, send)
            return
        response = refusal(self.buckets, scope)
        if response is None:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
