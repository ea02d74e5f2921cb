"""One HTTP session to the API: base URL, bearer token, retries, and errors from response bodies.

Retry rule: a request that never reached the server (the connection could not be made) is always
retried. A request that may have reached it (a read timeout, a dropped connection, a 5xx) is
retried only when repeating it cannot do the work twice: reads, overwrites, and calls the server
deduplicates (a submit carries an idempotency key; an import dedupes items).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from labelhouse import __version__
from labelhouse.sdk.errors import LabelhouseError, Unavailable, error_from_response

PREFIX = "/api/v1"
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_MAX_SLEEP = 30.0

# A body given as a factory is rebuilt for each attempt, so a file upload can be sent again.
Content = bytes | Callable[[], Iterable[bytes]]


def base_url(url: str) -> str:
    """The server's root URL: no trailing slash, no /api/v1 suffix."""
    url = url.strip().rstrip("/")
    if url.endswith(PREFIX):
        url = url[: -len(PREFIX)]
    return url


class Session:
    """Sends requests to one server with one token; owns its httpx client unless given one."""

    def __init__(
        self, url: str, token: str | None, *, timeout: float, retries: int, http: httpx.Client | None
    ) -> None:
        self.url = base_url(url)
        self.token = token
        self.retries = max(0, retries)
        self.backoff = 0.5
        self._owns_http = http is None
        self.http = http if http is not None else httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the connection pool, if this session opened it."""
        if self._owns_http:
            self.http.close()

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"User-Agent": f"labelhouse-sdk/{__version__}", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Content | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one call, retrying as the module docstring says; raise the error a non-2xx stands for."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "DELETE")
        url = f"{self.url}{PREFIX}{path}"
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            body = content() if callable(content) else content
            request = self.http.build_request(
                method, url, params=params, json=json, content=body, headers=self._headers(headers)
            )
            try:
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                reached = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if reached and not idempotent:
                    raise Unavailable(
                        f"{method} {url} failed after the request was sent ({type(exc).__name__}: {exc}); "
                        "it may or may not have been applied, so it was not retried: check before repeating it"
                    ) from exc
                if attempt == attempts:
                    raise Unavailable(
                        f"cannot reach labelhouse at {self.url} after {attempts} attempts "
                        f"({type(exc).__name__}: {exc}); is the server running and LABELHOUSE_URL right?"
                    ) from exc
                self._sleep(attempt, None)
                continue
            if response.status_code in _RETRY_STATUSES and idempotent and attempt < attempts:
                response.close()
                self._sleep(attempt, response.headers.get("retry-after"))
                continue
            if response.is_error:
                response.read()
                response.close()
                raise error_from_response(response)
            return response
        raise AssertionError("unreachable: the loop returns or raises")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one call and return its decoded JSON body (None for an empty one, e.g. 204)."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def obj(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Send one call whose answer is a JSON object."""
        body = self.call(method, path, **kwargs)
        if not isinstance(body, dict):
            raise LabelhouseError(f"{method} {path} answered {type(body).__name__}, not a JSON object")
        return body

    def rows(self, method: str, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Send one call whose answer is a JSON array of objects."""
        body = self.call(method, path, **kwargs)
        if not isinstance(body, list):
            raise LabelhouseError(f"{method} {path} answered {type(body).__name__}, not a JSON array")
        return body

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * 2 ** (attempt - 1) * (1 + random.random() / 4)
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(min(delay, _MAX_SLEEP))
