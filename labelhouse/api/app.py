"""The FastAPI application: routes under /api/v1, the error table, body limits."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelhouse import __version__
from labelhouse.api import errors, web
from labelhouse.api.documented import declare_errors
from labelhouse.api.fastlane import FastLane
from labelhouse.api.headers import SecurityHeaders
from labelhouse.api.routes import accounts, admin, items, members, projects, queue, reviews, sessions, sso
from labelhouse.api.strictjson import StrictJson
from labelhouse.api.throttle import Throttle
from labelhouse.runtime import Runtime
from labelhouse.worker import JobThread

PREFIX = "/api/v1"


# Bodies other than item imports are JSON for one call: 16 MiB is far past any real one.
MAX_JSON_BODY = 16 * 1024 * 1024
_IMPORT_PATH = re.compile(rf"^{PREFIX}/projects/[^/]+/items$")


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` once a body passes its limit; FastAPI re-raises HTTP exceptions
    untouched, so the error handlers answer 413 (and ``BodyLimit`` itself, outside them)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, detail=message)


class BodyLimit:
    """Bound every request body: refuse a declared length over the limit before reading a byte,
    and stop reading a body (chunked, or longer than declared) once it passes the limit.

    Item imports may be ``max_bytes`` (LABELHOUSE_MAX_BODY_MB) long; every other body
    ``MAX_JSON_BODY`` at most (I-03)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_import = scope.get("method") == "POST" and _IMPORT_PATH.match(scope.get("path", "")) is not None
        limit = self.max_bytes if is_import else min(self.max_bytes, MAX_JSON_BODY)
        message = (
            f"the body is over {self.max_bytes // (1024 * 1024)} MiB; split it or raise LABELHOUSE_MAX_BODY_MB"
            if is_import
            else f"the body is over {limit // (1024 * 1024)} MiB, the limit of a call other than an import"
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await errors.error_response(413, "too_large", message)(scope, receive, send)
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
            await errors.error_response(413, "too_large", message)(scope, receive, send)


def create_app(rt: Runtime, *, run_jobs: bool | None = None) -> FastAPI:
    threads = rt.settings.job_threads if run_jobs is None else int(run_jobs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if threads > 0:
            worker = JobThread(rt)
            worker.start()
            app.state.jobs = worker
        # SQLite: the labeling loop runs on this thread (api/deps.py: hot_call), on one connection.
        rt.db.keep_connection()
        yield
        rt.db.release_connection()
        if worker is not None:
            worker.stop()

    app = FastAPI(
        title="labelhouse",
        version=__version__,
        description="Self-hosted data labeling: projects, a leased task queue, annotations, imports and exports.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.state.jobs = None
    app.state.login_limits = accounts.LoginLimits()
    errors.install(app)
    for module in (accounts, sessions, sso, members, projects, items, queue, reviews, admin):
        declare_errors(module.router.routes)
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(web.router)
    app.add_middleware(FastLane, runtime=rt)
    app.add_middleware(StrictJson, skip=_IMPORT_PATH)
    app.add_middleware(Throttle, per_second=rt.settings.rate_limit)
    app.add_middleware(SecurityHeaders, docs_path=f"{PREFIX}/docs")
    app.add_middleware(BodyLimit, max_bytes=rt.settings.max_body_mb * 1024 * 1024)
    return app
