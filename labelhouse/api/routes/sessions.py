"""Browser sessions: log in to a cookie, read the session (with its CSRF token), switch workspace,
log out. The browser UI uses these; scripts use bearer tokens (routes/accounts.py)."""

from __future__ import annotations

import math
import time

from fastapi import APIRouter, Request
from starlette.responses import Response

from labelhouse.api.deps import (
    RT,
    SESSION_COOKIE,
    CurrentActor,
    actor_for_token,
    json_response,
    request_token,
    session_token,
)
from labelhouse.api.models import LoginIn, PasswordChangedOut, PasswordIn, SessionOut, SwitchIn
from labelhouse.api.routes.accounts import LoginLimits, limited_login
from labelhouse.core.actor import Actor
from labelhouse.core.errors import Forbidden, Invalid, TooMany
from labelhouse.runtime import Runtime
from labelhouse.security import csrf
from labelhouse.services import credentials, sessions
from labelhouse.services.clock import utcnow

router = APIRouter(tags=["accounts"])


def _session_body(rt: Runtime, actor: Actor, token: str) -> dict[str, object]:
    with rt.db.session(write=False) as s:
        choices = sessions.workspaces(s, actor)
    return {
        "user_id": actor.user_id,
        "email": actor.email,
        "workspace_id": actor.workspace_id,
        "role": actor.role.value,
        "projects": None if actor.projects is None else sorted(actor.projects),
        "csrf_token": csrf.token_for(rt.secret, token) if token else "",
        "workspaces": [{"id": w.id, "name": w.name, "role": w.role} for w in choices],
    }


def with_session_cookie(response: Response, request: Request, rt: Runtime, token: str) -> Response:
    # Secure whenever the page came over TLS, and always in production mode (which sits behind
    # TLS); plain http on loopback is the development default and needs the cookie to work.
    secure = request.url.scheme == "https" or rt.settings.mode == "production"
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=sessions.SESSION_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    return response


@router.post(
    "/auth/session",
    response_model=SessionOut,
    responses={429: {"description": "too many failed logins; see Retry-After"}},
)
def log_in(body: LoginIn, request: Request, rt: RT) -> Response:
    """Log in with a password and get a session cookie (HttpOnly, SameSite=Strict) plus the CSRF
    token that unsafe requests must send as `X-CSRF-Token`. Rate-limited like `/auth/login`."""
    old = session_token(request.headers.get("cookie", ""))
    issued = limited_login(
        request,
        rt,
        body.email,
        lambda s: sessions.start(s, body.email, body.password, workspace=body.workspace, now=utcnow()),
    )
    if old:
        # A new login always gets a new session id (no fixation): the previous one is revoked.
        with rt.db.session() as s:
            sessions.end(s, old, now=utcnow())
    actor = actor_for_token(rt, issued.token)
    return with_session_cookie(
        json_response(_session_body(rt, actor, issued.token)), request, rt, issued.token
    )


@router.get("/auth/session", response_model=SessionOut)
def read_session(request: Request, actor: CurrentActor, rt: RT) -> Response:
    """Who is logged in, the workspaces they may switch to, and the session's CSRF token."""
    token = session_token(request.headers.get("cookie", ""))
    return json_response(_session_body(rt, actor, token))


@router.post("/auth/session/workspace", response_model=SessionOut)
def switch_workspace(body: SwitchIn, request: Request, actor: CurrentActor, rt: RT) -> Response:
    """Move the session to another workspace the user belongs to (a new session id and CSRF token)."""
    token = session_token(request.headers.get("cookie", ""))
    if not token:
        raise Invalid(
            "switching workspace is for browser sessions; with a token, log in again naming the workspace",
            field="workspace_id",
        )
    with rt.db.session() as s:
        issued = sessions.switch(s, actor, token, body.workspace_id, now=utcnow())
    moved = actor_for_token(rt, issued.token)
    return with_session_cookie(
        json_response(_session_body(rt, moved, issued.token)), request, rt, issued.token
    )


@router.delete("/auth/session", status_code=204)
def log_out(request: Request, actor: CurrentActor, rt: RT) -> Response:
    """End the session: its token is revoked at once, and the cookie is cleared."""
    token = session_token(request.headers.get("cookie", ""))
    if token:
        with rt.db.session() as s:
            sessions.end(s, token, now=utcnow())
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post(
    "/auth/password",
    response_model=PasswordChangedOut,
    responses={
        403: {"description": "the current password is wrong"},
        429: {"description": "too many wrong passwords"},
    },
)
def change_password(body: PasswordIn, request: Request, actor: CurrentActor, rt: RT) -> Response:
    """Change one's own password; the current one is needed. Every other browser session and every
    API token of the user (all workspaces) is revoked at once; the session or token that made this
    call stays valid. Wrong current passwords count against the account's login limit."""
    limits: LoginLimits = request.app.state.login_limits
    clock = time.monotonic()
    wait = limits.by_email.retry_after(actor.email, clock)
    if wait:
        raise TooMany(
            f"too many wrong passwords; try again in {math.ceil(wait)} seconds",
            details={"retry_after": math.ceil(wait)},
        )
    try:
        with rt.db.session() as s:
            revoked = credentials.change_password(
                s,
                actor,
                body.current_password,
                body.new_password,
                keep_token=request_token(request),
                now=utcnow(),
            )
    except Forbidden:
        limits.by_email.fail(actor.email, clock)
        raise
    return json_response({"sessions_revoked": revoked.sessions, "tokens_revoked": revoked.tokens})
