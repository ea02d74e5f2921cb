"""The FastAPI application: routes under /api/v1, the error table, the middleware stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from labelhouse import __version__
from labelhouse.api import errors, web
from labelhouse.api.bodylimit import IMPORT_PATH, PREFIX, BodyLimit
from labelhouse.api.documented import declare_errors
from labelhouse.api.fastlane import FastLane
from labelhouse.api.headers import SecurityHeaders
from labelhouse.api.routes import accounts, admin, items, members, projects, queue, reviews, sessions, sso
from labelhouse.api.strictjson import StrictJson
from labelhouse.api.throttle import Throttle, buckets_for
from labelhouse.runtime import Runtime
from labelhouse.worker import JobThread


class LabelhouseApp(FastAPI):
    """FastAPI with the fast lane (api/fastlane.py) in front of its whole stack.

    The labeling loop's two calls skip what FastAPI and Starlette do per request before the first
    middleware (the native telemetry's check of the OpenTelemetry providers, the app's own body
    limit wrapper, the server error middleware: ~3 % of the server's CPU per call); the fast lane
    does itself what of that applies to them. Every other request, and the lifespan, go on to
    FastAPI as usual.
    """

    fast_lane: FastLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.fast_lane
        if lane is not None:
            call = lane.route(scope)
            if call is not None:
                await lane(scope, receive, send, *call)
                return
        await super().__call__(scope, receive, send)


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

    app = LabelhouseApp(
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
    max_bytes = rt.settings.max_body_mb * 1024 * 1024
    buckets = buckets_for(rt.settings.rate_limit)  # one bucket per credential, both lanes
    # The labeling loop's two calls pass these four checks in the fast lane, in the same order.
    app.fast_lane = FastLane(rt, max_bytes=max_bytes, buckets=buckets)
    app.add_middleware(StrictJson, skip=IMPORT_PATH)
    app.add_middleware(Throttle, buckets=buckets)
    app.add_middleware(SecurityHeaders, docs_path=f"{PREFIX}/docs")
    app.add_middleware(BodyLimit, max_bytes=max_bytes)
    return app
