"""The FastAPI application: routes under /api/v1, the error table, body limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from labelhouse import __version__
from labelhouse.api import errors, web
from labelhouse.api.fastlane import FastLane
from labelhouse.api.headers import SecurityHeaders
from labelhouse.api.routes import accounts, admin, items, members, projects, queue, reviews, sessions
from labelhouse.runtime import Runtime
from labelhouse.worker import JobThread

PREFIX = "/api/v1"


class BodyLimit:
    """Refuse a body whose declared length is over the limit before reading it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    response = errors.error_response(
                        413,
                        "too_large",
                        f"the body is over {self.max_bytes // (1024 * 1024)} MiB; split it or raise LABELHOUSE_MAX_BODY_MB",
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def create_app(rt: Runtime, *, run_jobs: bool | None = None) -> FastAPI:
    threads = rt.settings.job_threads if run_jobs is None else int(run_jobs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if threads > 0:
            worker = JobThread(rt)
            worker.start()
            app.state.jobs = worker
        yield
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
    for module in (accounts, sessions, members, projects, items, queue, reviews, admin):
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(web.router)
    app.add_middleware(FastLane, runtime=rt)
    app.add_middleware(SecurityHeaders, docs_path=f"{PREFIX}/docs")
    app.add_middleware(BodyLimit, max_bytes=rt.settings.max_body_mb * 1024 * 1024)
    return app
