"""The one error tree of labelhouse.

Every failure a user can cause is one of these, named by meaning, each with a stable ``code``::

    LabelhouseError
    ├── NotFound         (not_found)        the thing does not exist, or is not yours to see
    ├── Conflict         (conflict)         the request clashes with current state (lease gone, duplicate)
    ├── Invalid          (invalid)          the input is wrong; ``field`` names where
    ├── Forbidden        (forbidden)        you are known but your role may not do this
    ├── Unauthenticated  (unauthenticated)  no or bad credentials
    ├── TooLarge         (too_large)        the payload exceeds a limit
    ├── TooMany          (too_many)         too many attempts; retry after a pause
    └── Unavailable      (unavailable)      a dependency is down; retry later

The API maps them to HTTP statuses, the CLI to exit codes, and the SDK raises the same classes
from the response body (see ``labelhouse.sdk.errors``, which mirrors this table).
"""

from __future__ import annotations

from typing import Any


class LabelhouseError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFound(LabelhouseError):
    """The thing does not exist, or is not yours to see."""

    code = "not_found"


class Conflict(LabelhouseError):
    """The request clashes with the current state (a lease that ended, a reused key)."""

    code = "conflict"


class Invalid(LabelhouseError):
    """The input is wrong; `field` names where."""

    code = "invalid"


class Forbidden(LabelhouseError):
    """You are known, but your role may not do this."""

    code = "forbidden"


class Unauthenticated(LabelhouseError):
    """No credentials, or bad ones."""

    code = "unauthenticated"


class TooLarge(LabelhouseError):
    """The payload is over a limit."""

    code = "too_large"


class TooMany(LabelhouseError):
    """Too many attempts (failed logins); wait and retry."""

    code = "too_many"


class Unavailable(LabelhouseError):
    """A dependency is down; retry later."""

    code = "unavailable"


ERRORS: dict[str, type[LabelhouseError]] = {
    cls.code: cls
    for cls in (NotFound, Conflict, Invalid, Forbidden, Unauthenticated, TooLarge, TooMany, Unavailable)
}

HTTP_STATUS: dict[str, int] = {
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
    "forbidden": 403,
    "unauthenticated": 401,
    "too_large": 413,
    "too_many": 429,
    "unavailable": 503,
}

EXIT_CODE: dict[str, int] = {
    "not_found": 3,
    "conflict": 4,
    "invalid": 5,
    "forbidden": 6,
    "unauthenticated": 7,
    "too_large": 8,
    "too_many": 11,
    "unavailable": 9,
}
