"""Health, bootstrap, login, who am I, API tokens."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from labelhouse.api.deps import RT, CurrentActor, json_response
from labelhouse.api.models import BootstrapIn, LoginIn, RowId, TokenIn, TokenOut
from labelhouse.core.errors import TooMany, Unauthenticated
from labelhouse.runtime import Runtime
from labelhouse.security.ratelimit import FailureLimiter
from labelhouse.services import accounts
from labelhouse.services.clock import aware, utcnow

router = APIRouter()


@router.get("/health", tags=["system"])
def health(rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        s.connection().exec_driver_sql("SELECT 1")
    return json_response({"status": "ok", "database": rt.db.dialect})


@router.post("/bootstrap", tags=["accounts"], status_code=201, response_model=TokenOut)
def bootstrap(body: BootstrapIn, rt: RT) -> Response:
    """Create the first owner with the one-time token `serve` printed on a fresh install."""
    with rt.db.session() as s:
        issued = accounts.bootstrap(
            s, body.token, email=body.email, password=body.password, workspace=body.workspace, now=utcnow()
        )
    return json_response({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at}, 201)


class LoginLimits:
    """Failed logins per account and per client address, kept by each app (so per process)."""

    def __init__(self) -> None:
        self.by_email = FailureLimiter(limit=10, window=600)
        self.by_address = FailureLimiter(limit=50, window=600)


@router.post(
    "/auth/login",
    tags=["accounts"],
    response_model=TokenOut,
    responses={429: {"description": "too many failed logins; see Retry-After"}},
)
def login(body: LoginIn, request: Request, rt: RT) -> Response:
    """Exchange an e-mail and password for a token. After 10 failures for one account (or 50 from
    one address) in 10 minutes, logins are refused with 429 until the window moves on, whether or
    not the password is right; the answer is the same for accounts that do not exist."""
    issued = limited_login(
        request,
        rt,
        body.email,
        lambda s: accounts.login(s, body.email, body.password, workspace=body.workspace, now=utcnow()),
    )
    return json_response({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at})


def limited_login(
    request: Request, rt: Runtime, email: str, attempt: Callable[[Session], accounts.IssuedToken]
) -> accounts.IssuedToken:
    """Run a password check under the login rate limits (shared by token and session logins)."""
    limits: LoginLimits = request.app.state.login_limits
    email_key = email.strip().lower()
    address = request.client.host if request.client else "?"
    clock = time.monotonic()
    wait = max(
        limits.by_email.retry_after(email_key, clock) or 0.0,
        limits.by_address.retry_after(address, clock) or 0.0,
    )
    if wait > 0:
        raise TooMany(
            f"too many failed logins; try again in {math.ceil(wait)} seconds",
            details={"retry_after": math.ceil(wait)},
        )
    try:
        with rt.db.session() as s:
            issued = attempt(s)
    except Unauthenticated:
        limits.by_email.fail(email_key, clock)
        limits.by_address.fail(address, clock)
        with rt.db.session() as s:
            accounts.record_failed_login(s, email, now=utcnow())
        raise
    limits.by_email.reset(email_key)
    return issued


@router.get("/me", tags=["accounts"])
def me(actor: CurrentActor) -> Response:
    return json_response(
        {
            "user_id": actor.user_id,
            "email": actor.email,
            "workspace_id": actor.workspace_id,
            "role": actor.role.value,
            "projects": None if actor.projects is None else sorted(actor.projects),
            "skills": sorted(actor.skills),
        }
    )


@router.post("/tokens", tags=["accounts"], status_code=201, response_model=TokenOut)
def create_token(body: TokenIn, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        issued = accounts.create_token(s, actor, body.name, now=utcnow())
    return json_response({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at}, 201)


@router.get("/tokens", tags=["accounts"])
def list_tokens(actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        rows = accounts.list_tokens(s, actor)
        body = [
            {
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": aware(t.created_at),
                "expires_at": aware(t.expires_at) if t.expires_at else None,
            }
            for t in rows
        ]
    return json_response(body)


@router.delete("/tokens/{token_id}", tags=["accounts"], status_code=204)
def revoke_token(token_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        accounts.revoke_token(s, actor, token_id, now=utcnow())
    return Response(status_code=204)
