"""The fast lane: the two calls of the labeling loop, served before the framework's router.

``next`` and ``submit`` are most of the traffic when many annotators work at once, and FastAPI's
routing and dependency solving cost more CPU per call than the calls themselves (measured with
bench/loop.py and cProfile). This ASGI middleware matches just those two paths and runs the very
same functions the documented routes run (``next_response``, ``submit_response``), with the same
models, errors and authentication; everything else goes on to FastAPI untouched.
"""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelhouse.api.deps import actor_for_request, hot_call
from labelhouse.api.errors import error_response, validation_response
from labelhouse.api.models import NextIn, SubmitIn
from labelhouse.api.routes.queue import next_response, submit_response
from labelhouse.core.errors import HTTP_STATUS, LabelhouseError
from labelhouse.runtime import Runtime

_NEXT = re.compile(r"^/api/v1/projects/(\d{1,18})/next$")
_SUBMIT = re.compile(r"^/api/v1/tasks/(\d{1,18})/annotations$")
MAX_BODY = 8 * 1024 * 1024


class FastLane:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        nxt = _NEXT.match(path)
        sub = None if nxt else _SUBMIT.match(path)
        if nxt is None and sub is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await self._serve(scope, receive, nxt, sub)
        except LabelhouseError as exc:
            response = error_response(HTTP_STATUS.get(exc.code, 400), exc.code, exc.message, exc.field)
        except ValidationError as exc:
            response = validation_response(list(exc.errors()))
        await response(scope, receive, send)

    async def _serve(
        self, scope: Scope, receive: Receive, nxt: re.Match[str] | None, sub: re.Match[str] | None
    ) -> Response:
        wanted = {b"authorization": "", b"cookie": "", b"x-csrf-token": ""}
        for name, value in scope["headers"]:
            if name in wanted:
                wanted[name] = value.decode("latin-1")
        actor = actor_for_request(
            self.rt, "POST", wanted[b"authorization"], wanted[b"cookie"], wanted[b"x-csrf-token"]
        )
        body = await _body(receive)
        if nxt is not None:
            prefetch = NextIn.model_validate_json(body).prefetch if body.strip() else False
            return await hot_call(self.rt, next_response, self.rt, actor, int(nxt.group(1)), prefetch)
        assert sub is not None
        payload = SubmitIn.model_validate_json(body)
        return await hot_call(self.rt, submit_response, self.rt, actor, int(sub.group(1)), payload)


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise TooLargeBody()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class TooLargeBody(LabelhouseError):
    code = "too_large"

    def __init__(self) -> None:
        super().__init__(f"a labeling call's body is at most {MAX_BODY // (1024 * 1024)} MiB")
