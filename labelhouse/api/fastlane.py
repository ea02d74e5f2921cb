"""The fast lane: the two calls of the labeling loop, served before the framework's stack.

``next`` and ``submit`` are most of the traffic when many annotators work at once, and FastAPI's
routing and dependency solving cost more CPU per call than the calls themselves (measured with
bench/loop.py and cProfile). This ASGI app matches just those two paths and runs the very
same functions the documented routes run (``next_response``, ``submit_response``), with the same
models, errors and authentication; everything else goes on to FastAPI untouched.

It runs in front of FastAPI's whole stack (``LabelhouseApp.__call__``, api/app.py) and applies
to its two calls, in the same order, what the middleware applies to every other call: the body
limit (api/bodylimit.py), the rate limit (api/throttle.py, the same buckets), strict JSON
(api/strictjson.py), the security headers (api/headers.py), and the error table's 500 for a
failure nobody foresaw (Starlette's ServerErrorMiddleware with api/errors.py's handler). In one
place rather than through the layers, each wrapping ``receive`` or ``send`` in a closure of its
own, because those layers and FastAPI's per-request work were ~10 % of the server's CPU per call
(docs/performance.md). tests/api/test_fast_lane_checks.py holds the two lanes to the same
answers.
"""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from labelhouse.api import bodylimit, strictjson, throttle
from labelhouse.api.deps import actor_for_request, hot_call
from labelhouse.api.errors import error_response, internal_error, validation_response
from labelhouse.api.headers import with_strict_headers
from labelhouse.api.models import NextIn, SubmitIn
from labelhouse.api.routes.queue import next_response, submit_response
from labelhouse.core.errors import HTTP_STATUS, LabelhouseError
from labelhouse.runtime import Runtime
from labelhouse.security.ratelimit import TokenBuckets

_NEXT = re.compile(r"^/api/v1/projects/(\d{1,18})/next$")
_SUBMIT = re.compile(r"^/api/v1/tasks/(\d{1,18})/annotations$")
MAX_BODY = 8 * 1024 * 1024


class _Gone(Exception):
    """The client went away before its body arrived: nothing to answer."""


class FastLane:
    """Serves ``next`` and ``submit`` for ``LabelhouseApp`` (api/app.py), in front of its stack."""

    def __init__(self, runtime: Runtime, max_bytes: int, buckets: TokenBuckets | None) -> None:
        self.rt = runtime
        self.max_bytes = max_bytes
        self.buckets = buckets

    @staticmethod
    def route(scope: Scope) -> tuple[re.Match[str] | None, re.Match[str] | None] | None:
        """``(next match, submit match)`` for one of the two calls, None for every other request."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        nxt = _NEXT.match(scope["path"])
        sub = None if nxt else _SUBMIT.match(scope["path"])
        return None if nxt is None and sub is None else (nxt, sub)

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, nxt: re.Match[str] | None, sub: re.Match[str] | None
    ) -> None:
        started = False
        try:
            try:
                response = await self._serve(scope, receive, nxt, sub)
            except LabelhouseError as exc:
                response = error_response(HTTP_STATUS.get(exc.code, 400), exc.code, exc.message, exc.field)
            except ValidationError as exc:
                response = validation_response(list(exc.errors()))
            except _Gone:
                return
            started = True
            await _send(send, response)
        except Exception as exc:
            # What Starlette's ServerErrorMiddleware does for every other call: the error table's
            # 500 (never a 2xx, api/errors.py) if nothing was sent yet, then the server logs it.
            if not started:
                await _send(send, internal_error(exc))
            raise

    async def _serve(
        self, scope: Scope, receive: Receive, nxt: re.Match[str] | None, sub: re.Match[str] | None
    ) -> Response:
        # The stack's checks, in its order: body limit, rate limit, strict JSON.
        limit, too_large = bodylimit.limit_for(scope, self.max_bytes)
        if bodylimit.declared_over(scope, limit):
            return bodylimit.too_large(too_large)
        if self.buckets is not None:
            refused = throttle.refusal(self.buckets, scope)
            if refused is not None:
                return refused
        # A JSON body is read and checked before authentication (as StrictJson does for every
        # other call); another body after it, as the fast lane always did.
        json_body = strictjson.is_json(scope)
        body = await _body(receive, limit, limit) if json_body else b""
        if body is None:
            return bodylimit.too_large(too_large)
        if body.strip():
            try:
                strictjson.check(body)
            except strictjson.BadJson as exc:
                return error_response(400, "invalid", str(exc), "body")
        wanted = {b"authorization": "", b"cookie": "", b"x-csrf-token": ""}
        for name, value in scope["headers"]:
            if name in wanted:
                wanted[name] = value.decode("latin-1")
        actor = actor_for_request(
            self.rt, "POST", wanted[b"authorization"], wanted[b"cookie"], wanted[b"x-csrf-token"]
        )
        if not json_body:
            body = await _body(receive, limit, MAX_BODY)
            if body is None:
                return bodylimit.too_large(too_large)
        if len(body) > MAX_BODY:
            raise TooLargeBody()
        if nxt is not None:
            prefetch = NextIn.model_validate_json(body).prefetch if body.strip() else False
            return await hot_call(
                self.rt, next_response, self.rt, actor, int(nxt.group(1)), prefetch, first=True
            )
        assert sub is not None
        payload = SubmitIn.model_validate_json(body)
        return await hot_call(self.rt, submit_response, self.rt, actor, int(sub.group(1)), payload)


async def _send(send: Send, response: Response) -> None:
    """The response's two ASGI messages, with the security headers the stack would add."""
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": with_strict_headers(response.raw_headers),
        }
    )
    await send({"type": "http.response.body", "body": response.body})


async def _body(receive: Receive, limit: int, cap: int) -> bytes | None:
    """The whole body: None once it passes ``limit`` (the stack's body limit), ``TooLargeBody``
    once it passes ``cap``, ``_Gone`` if the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Gone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        if size > cap:
            raise TooLargeBody()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks) if len(chunks) != 1 else chunks[0]


class TooLargeBody(LabelhouseError):
    code = "too_large"

    def __init__(self) -> None:
        super().__init__(f"a labeling call's body is at most {MAX_BODY // (1024 * 1024)} MiB")
