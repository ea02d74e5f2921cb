"""The errors the SDK raises: the server's error tree, rebuilt from the response body.

The classes mirror the server's table (``code`` to HTTP status); the SDK adds one of its own::

    LabelhouseError                          .code .message .field .status
    ├── NotFound         (not_found, 404)    the thing does not exist, or is not yours to see
    ├── Conflict         (conflict, 409)     the request clashes with current state (lease gone)
    ├── Invalid          (invalid, 422)      the input is wrong; ``field`` names where
    ├── Forbidden        (forbidden, 403)    you are known but your role may not do this
    ├── Unauthenticated  (unauthenticated, 401)  no or bad token
    ├── TooLarge         (too_large, 413)    the payload exceeds a limit
    ├── Unavailable      (unavailable, 503)  the server or a dependency is down or unreachable
    └── JobFailed        (job_failed)        SDK only: a background job ended as failed; see ``.job``

This module imports nothing of the server: the SDK must install and run on its own.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


class LabelhouseError(Exception):
    """Base of every error the server reports; ``status`` is the HTTP status, if there was one."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status

    def __str__(self) -> str:
        where = f" (field: {self.field})" if self.field else ""
        return f"{self.message}{where}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, field={self.field!r})"


class NotFound(LabelhouseError):
    code = "not_found"


class Conflict(LabelhouseError):
    code = "conflict"


class Invalid(LabelhouseError):
    code = "invalid"


class Forbidden(LabelhouseError):
    code = "forbidden"


class Unauthenticated(LabelhouseError):
    code = "unauthenticated"


class TooLarge(LabelhouseError):
    code = "too_large"


class TooMany(LabelhouseError):
    code = "too_many"


class Unavailable(LabelhouseError):
    code = "unavailable"


class JobFailed(LabelhouseError):
    """A background job (a large import) ended as failed; ``job`` is its last state."""

    code = "job_failed"

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(
            f"job {job.get('id')} ({job.get('kind')}) failed: {job.get('error') or 'no reason given'}"
        )
        self.job = job


ERRORS: dict[str, type[LabelhouseError]] = {
    cls.code: cls
    for cls in (NotFound, Conflict, Invalid, Forbidden, Unauthenticated, TooLarge, TooMany, Unavailable)
}

# When the body is not ours (a proxy's HTML page, say), the status alone decides.
_BY_STATUS: dict[int, type[LabelhouseError]] = {
    400: Invalid,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    405: Invalid,
    409: Conflict,
    413: TooLarge,
    422: Invalid,
    429: TooMany,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def error_from_response(response: httpx.Response) -> LabelhouseError:
    """Build the error a non-2xx response stands for, from its ``{"error": {...}}`` body."""
    status = response.status_code
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = str(error.get("code", ""))
        cls = ERRORS.get(code) or _BY_STATUS.get(status, LabelhouseError)
        field = error.get("field")
        return cls(error["message"], field=field if isinstance(field, str) else None, status=status)
    snippet = response.text[:200].strip() or response.reason_phrase
    cls = _BY_STATUS.get(status, LabelhouseError)
    return cls(f"HTTP {status} from {response.request.url}: {snippet}", status=status)
