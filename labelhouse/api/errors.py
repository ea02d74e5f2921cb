"""One table from the error tree to HTTP: ``{"error": {"code", "message", "field"?}}``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from labelhouse.core.errors import HTTP_STATUS, LabelhouseError
from labelhouse.security import logsafe

log = logsafe.logger("labelhouse.api")


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return Response(orjson.dumps({"error": body}), status_code=status, media_type="application/json")


def internal_error(exc: BaseException) -> Response:
    """A failure we did not foresee (a failed commit included): logged, and never a 2xx."""
    log.error("unhandled error", exc_info=exc)
    return error_response(
        500,
        "internal",
        "the server failed to complete the request; nothing was saved. Retry, and report it if it persists",
    )


def validation_response(problems: list[Any]) -> Response:
    """422 naming the first wrong field of a request that did not match its model."""
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    where = f" (at {field})" if field else ""
    return error_response(422, "invalid", f"{first.get('msg', 'invalid request')}{where}", field)


_STATUS_CODES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "invalid",
    409: "conflict",
    413: "too_large",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(LabelhouseError)
    async def _domain(_request: Request, exc: LabelhouseError) -> Response:
        response = error_response(HTTP_STATUS.get(exc.code, 400), exc.code, exc.message, exc.field)
        if isinstance(exc.details, dict) and "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        return validation_response(list(exc.errors()))

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> Response:
        return internal_error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "invalid")
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such endpoint; see /api/v1/openapi.json"
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "the body is not valid JSON (or is nested too deep): send one JSON value"
        return error_response(exc.status_code, code, detail)
