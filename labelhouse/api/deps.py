"""What routes receive: the runtime, the acting user, JSON responses."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from starlette.requests import cookie_parser
from starlette.responses import Response

from labelhouse.api.hotpool import HotThreads
from labelhouse.core.actor import Actor
from labelhouse.core.errors import Forbidden
from labelhouse.core.scope import enter_workspace
from labelhouse.runtime import Runtime
from labelhouse.security import csrf
from labelhouse.services.accounts import authenticate, cached_actor
from labelhouse.services.clock import utcnow

T = TypeVar("T")


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _bearer(header: str) -> str:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()


SESSION_COOKIE = "lh_session"


def session_token(cookie_header: str) -> str:
    """The browser session's token from a ``Cookie`` header ('' when there is none)."""
    return cookie_parser(cookie_header).get(SESSION_COOKIE, "") if cookie_header else ""


def request_token(request: Request) -> str:
    """The credential a request came with: its bearer token, else its session cookie's token."""
    bearer = _bearer(request.headers.get("authorization", ""))
    return bearer or session_token(request.headers.get("cookie", ""))


async def current_actor(request: Request, rt: Annotated[Runtime, Depends(runtime)]) -> Actor:
    h = request.headers
    return actor_for_request(
        rt, request.method, h.get("authorization", ""), h.get("cookie", ""), h.get(csrf.HEADER, "")
    )


def actor_for_request(rt: Runtime, method: str, authorization: str, cookie: str, csrf_sent: str) -> Actor:
    """The acting user of a request: a bearer token if one is sent, else the session cookie.

    With the cookie, an unsafe method must also carry the session's CSRF token (security/csrf.py).
    The rest of the request runs scoped to the actor's workspace (core/scope.py).
    """
    actor = _actor_for_request(rt, method, authorization, cookie, csrf_sent)
    enter_workspace(actor.workspace_id)
    return actor


def _actor_for_request(rt: Runtime, method: str, authorization: str, cookie: str, csrf_sent: str) -> Actor:
    if not authorization:
        session = session_token(cookie)
        if session:
            if method not in csrf.SAFE_METHODS and not csrf.valid(rt.secret, session, csrf_sent):
                raise Forbidden(
                    "this request lacks the session's X-CSRF-Token header; reload the page and try again"
                )
            return actor_for_token(rt, session)
    return actor_for_header(rt, authorization)


def actor_for_header(rt: Runtime, header: str) -> Actor:
    """The acting user of an ``Authorization`` header."""
    return actor_for_token(rt, _bearer(header))


def actor_for_token(rt: Runtime, token: str) -> Actor:
    """A token seen in the last seconds costs no I/O, and a miss is one indexed read, so this
    runs on the event loop."""
    now = utcnow()
    hit = cached_actor(token, now=now)
    if hit is not None:
        return hit
    with rt.db.session(write=False) as s:
        return authenticate(s, token, now=now)


RT = Annotated[Runtime, Depends(runtime)]
CurrentActor = Annotated[Actor, Depends(current_actor)]


_hot_pool: HotThreads | None = None
_hot_pool_lock = threading.Lock()


def _hot_threads(rt: Runtime) -> HotThreads:
    """The labeling loop's threads on PostgreSQL (``hot_thread_count``)."""
    global _hot_pool
    if _hot_pool is not None:
        return _hot_pool
    with _hot_pool_lock:
        if _hot_pool is None:
            pool = rt.db.engine.pool.size()  # type: ignore[attr-defined]
            _hot_pool = HotThreads(hot_thread_count(rt.settings.hot_threads, pool, os.cpu_count()))
        return _hot_pool


def hot_thread_count(setting: int, pool: int, cpus: int | None) -> int:
    """``LABELHOUSE_HOT_THREADS``, or when it is 0 three per CPU (at least 6); never more than
    the connection pool.

    Each thread holds one connection while its call runs, so the threads are how many ``next``
    and submit calls the database works on at once. Forty (the pool) let forty calls contend for
    two cores; six keep the rest waiting in line, where a ``next`` goes before every submit
    (``hot_call(..., first=True)``): on the 2-core machine the loop's ``next`` p99 went from
    65-91 ms to 30-38 ms at the same or higher throughput (docs/performance.md, "PostgreSQL: a
    short line, next first"). Fewer threads overlap too few commits' fsync waits.
    """
    wanted = setting if setting > 0 else max(6, 3 * (cpus or 1))
    return max(1, min(wanted, pool))


async def hot_call(rt: Runtime, fn: Callable[..., T], *args: Any, first: bool = False) -> T:
    """Run a labeling-loop call where it is fastest for the database.

    SQLite: inline on the event loop; writes are serialized anyway, so threads only add a hand-off
    and GIL convoys. PostgreSQL: on threads of its own; every commit waits for the server's
    fsync, and many in flight let it commit them as a group. Not anyio's worker threads
    (``run_in_threadpool``) nor an executor, whose bookkeeping per call showed in the profiles
    (api/hotpool.py); the request's context (its workspace scope) goes along.
    """
    if rt.db.is_sqlite:
        return fn(*args)
    return await _hot_threads(rt).call(fn, *args, first=first)


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, default=_default, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC),
        status_code=status,
        media_type="application/json",
    )
