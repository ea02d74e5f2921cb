"""What routes receive: the runtime, the acting user, JSON responses."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from starlette.responses import Response

from labelhouse.core.actor import Actor
from labelhouse.runtime import Runtime
from labelhouse.services.accounts import authenticate
from labelhouse.services.clock import utcnow


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()


def current_actor(request: Request, rt: Annotated[Runtime, Depends(runtime)]) -> Actor:
    token = _bearer(request)
    with rt.db.session(write=False) as s:
        return authenticate(s, token, now=utcnow())


RT = Annotated[Runtime, Depends(runtime)]
CurrentActor = Annotated[Actor, Depends(current_actor)]


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
