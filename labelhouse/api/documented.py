"""Declare in the OpenAPI document the error answers each route can give.

The error handlers (api/errors.py) and the middlewares answer every route with the same envelope,
so rather than repeat a ``responses=`` table on each route, this derives it from what the route
is: authenticated routes can answer 401/403, routes with a path id 404, routes with input
400/422, every route 413 and 429 (the body limit and the throttle sit in front of all of them),
unsafe methods 409.
Schemathesis (tests/security/test_openapi_fuzz.py) holds every answer to this declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from labelhouse.api.deps import current_actor
from labelhouse.api.models import ErrorOut

F = TypeVar("F", bound=Callable[..., Any])
_AUTHENTICATORS: set[Any] = {current_actor}


def authenticates(fn: F) -> F:
    """Mark a dependency that authenticates the caller some other way than ``current_actor``."""
    _AUTHENTICATORS.add(fn)
    return fn


_DESCRIPTIONS = {
    400: "the request is malformed (for example, a body that is not JSON)",
    401: "no token, or a token that is not valid",
    403: "the caller's role may not do this, or a cookie session lacks its CSRF token",
    404: "no such object, or not one the caller may know of",
    409: "the request clashes with the current state",
    413: "the body is over its size limit",
    422: "the input is not valid; `field` names where",
    429: "too many requests from this token, session or address; retry after `Retry-After` seconds",
    503: "a dependency (database, blob store) is unavailable; retry later",
}


def _authenticated(dependant: Dependant) -> bool:
    return dependant.call in _AUTHENTICATORS or any(_authenticated(d) for d in dependant.dependencies)


def error_statuses(route: APIRoute) -> set[int]:
    """The error statuses a route can answer with, from its dependencies, parameters and method."""
    statuses = {413, 429, 503}  # the body limit and the request throttle sit in front of every route
    methods = route.methods or set()
    if _authenticated(route.dependant):
        statuses |= {401, 403}
    if route.dependant.body_params:
        # Public routes with a body take credentials (login, bootstrap).
        statuses.add(401)
    if route.dependant.path_params or _authenticated(route.dependant):
        # Authenticated routes look objects up by ids in the path, the query or the body.
        statuses.add(404)
    if route.dependant.body_params or route.dependant.query_params or route.dependant.path_params:
        statuses |= {400, 422}
    if methods - {"GET", "HEAD"}:
        statuses |= {400, 409, 422}
    return statuses


def declare_errors(routes: Iterable[Any]) -> None:
    """Add the error answers to each route's ``responses`` (idempotent).

    Call it on a router's routes before ``include_router``, which builds the document's response
    models from ``responses`` when it copies the routes into the app."""
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        for status in sorted(error_statuses(route)):
            route.responses.setdefault(status, {"description": _DESCRIPTIONS[status]})
        for key, entry in route.responses.items():
            if int(key) >= 400:
                entry.setdefault("model", ErrorOut)
