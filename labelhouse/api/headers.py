"""Security headers on every response: nothing the API sends is to be sniffed, framed, or run."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The API serves JSON and files, never pages with scripts: the strictest policy fits. The
# interactive docs page (/api/v1/docs) loads its own scripts, so it keeps the browser defaults.
CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}

_STRICT = [(name.encode(), value.encode()) for name, value in HEADERS.items()] + [
    (b"content-security-policy", CSP.encode()),
    (b"cache-control", b"no-store"),
]


def with_strict_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A response's raw headers plus the strict set, where the response has not set its own
    (what ``SecurityHeaders`` adds outside the docs page; the fast lane uses it directly)."""
    have = {name for name, _ in raw}
    return raw + [pair for pair in _STRICT if pair[0] not in have]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, docs_path: str) -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        strict = not scope["path"].startswith(self.docs_path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if strict:
                    headers.setdefault("content-security-policy", CSP)
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
