"""Strict JSON for every JSON body (ATTACKS I-01): one meaning per document, or a clear 400.

Python's parser, like most, keeps the last of two equal keys, so ``{"role": "annotator", "role":
"owner"}`` would mean different things to a proxy or log reader that keeps the first, and it
accepts ``NaN``/``Infinity`` and lone surrogates that no other JSON reader (nor PostgreSQL)
accepts. This middleware reads each JSON body once, refuses those, and hands the same bytes on.
It sits inside ``BodyLimit`` (the body is already bounded) and before the fast lane and FastAPI.
Item imports are left to their format readers (they may be large and are read as a stream).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelhouse.api.errors import error_response

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BadJson(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C; only a shorter dict than the list of pairs has a key twice
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BadJson(f"the key {key!r} appears twice in one object; send it once")
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise BadJson(f"{name} is not JSON; send a number or null")


def check(body: bytes) -> None:
    """Raise ``BadJson`` with a message for the client unless ``body`` is one strict JSON value."""
    if body.startswith(b"\xef\xbb\xbf"):
        raise BadJson("the body starts with a byte-order mark; send UTF-8 without one")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJson(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise BadJson(
            f"the body is not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise BadJson("the body is not valid JSON: it is nested too deep") from None
    except BadJson:
        raise
    except ValueError:  # an integer past Python's 4,300-digit conversion limit (CVE-2020-10735)
        raise BadJson("a number in the body has too many digits") from None
    if b"\\u" not in body:
        return  # UTF-8 decoding refuses encoded surrogates: only a "\\u" escape can make one
    try:
        orjson.dumps(value)  # refuses strings holding lone surrogates ("\ud800")
    except orjson.JSONEncodeError:
        raise BadJson("the body holds a lone UTF-16 surrogate escape; send valid Unicode") from None


def is_json(scope: Scope) -> bool:
    """Whether a request's body is to be read as JSON: its content type says so, or it has none
    (FastAPI reads a body without a content type as JSON too)."""
    content_type = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.split(b";", 1)[0].strip().lower()
    return not content_type or content_type == b"application/json" or content_type.endswith(b"+json")


class StrictJson:
    def __init__(self, app: ASGIApp, skip: re.Pattern[str]) -> None:
        self.app = app
        self.skip = skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _UNSAFE or self.skip.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if not is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.strip():
            try:
                check(body)
            except BadJson as exc:
                await error_response(400, "invalid", str(exc), "body")(scope, receive, send)
                return
        await self.app(scope, _replay(body, None, receive), send)


def _replay(body: bytes | list[bytes], first: Message | None, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if first is not None:
                return first
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
