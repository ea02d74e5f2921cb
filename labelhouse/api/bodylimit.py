"""Request body limits (I-03): a declared length over the limit is refused before a byte is read,
and a body (chunked, or longer than declared) stops being read once it passes the limit."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelhouse.api import errors

PREFIX = "/api/v1"

# Bodies other than item imports are JSON for one call: 16 MiB is far past any real one.
MAX_JSON_BODY = 16 * 1024 * 1024
IMPORT_PATH = re.compile(rf"^{PREFIX}/projects/[^/]+/items$")


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` once a body passes its limit; FastAPI re-raises HTTP exceptions
    untouched, so the error handlers answer 413 (and ``BodyLimit`` itself, outside them)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, detail=message)


def limit_for(scope: Scope, max_bytes: int) -> tuple[int, str]:
    """The body limit of a request and the message of its 413: item imports may be ``max_bytes``
    (LABELHOUSE_MAX_BODY_MB) long, every other body ``MAX_JSON_BODY`` at most."""
    is_import = scope.get("method") == "POST" and IMPORT_PATH.match(scope.get("path", "")) is not None
    limit = max_bytes if is_import else min(max_bytes, MAX_JSON_BODY)
    message = (
        f"the body is over {max_bytes // (1024 * 1024)} MiB; split it or raise LABELHOUSE_MAX_BODY_MB"
        if is_import
        else f"the body is over {limit // (1024 * 1024)} MiB, the limit of a call other than an import"
    )
    return limit, message


def declared_over(scope: Scope, limit: int) -> bool:
    """Whether the request's ``Content-Length`` already says it is over ``limit``."""
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            return True
    return False


def too_large(message: str) -> Response:
    return errors.error_response(413, "too_large", message)


class BodyLimit:
    """Bound every request body (see the module's docstring). The fast lane (api/fastlane.py)
    applies the same limit and message to its two calls with ``limit_for``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, message = limit_for(scope, self.max_bytes)
        if declared_over(scope, limit):
            await too_large(message)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(message)
            return incoming

        async def tracking_send(outgoing: Message) -> None:
            nonlocal started
            started = started or outgoing["type"] == "http.response.start"
            await send(outgoing)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await too_large(message)(scope, receive, send)
