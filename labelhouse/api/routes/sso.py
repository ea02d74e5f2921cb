"""Single sign-on with OpenID Connect: where the login page learns about it, the start of a
sign-in (to the provider), and the provider's callback (to a browser session).

The callback answers a browser, not a script: a success is a redirect with the same session
cookie as a password login; a refusal is a short HTML page saying why, with a way back.
"""

from __future__ import annotations

import hmac
import html

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from labelhouse.api.deps import RT, json_response, session_token
from labelhouse.api.models import SsoOut
from labelhouse.api.routes.sessions import with_session_cookie
from labelhouse.core.errors import Forbidden, Invalid, LabelhouseError, NotFound, Unauthenticated
from labelhouse.runtime import Runtime
from labelhouse.security.addresses import AllowList
from labelhouse.security.claim_roles import parse_rules
from labelhouse.security.oidc import OidcClient, OidcConfig, ProviderError, TokenRejected
from labelhouse.security.redirects import safe_next
from labelhouse.services import sessions, sso
from labelhouse.services.clock import utcnow

router = APIRouter(tags=["accounts"])

PATH = "/api/v1/auth/oidc"
STATE_COOKIE = "lh_oidc"
LOGIN_PAGE = "/ui/#/login"


def _client(request: Request, rt: Runtime) -> OidcClient:
    """This app's provider client (one per app, so discovery and keys are cached between logins)."""
    settings = rt.settings
    if not settings.oidc_enabled:
        raise NotFound("single sign-on is not configured on this server (LABELHOUSE_OIDC_ISSUER)")
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    if client is None:
        config = OidcConfig(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            redirect_uri=f"{settings.oidc_redirect_base}{PATH}/callback",
            scopes=settings.oidc_scopes,
            hosts=AllowList.parse(settings.oidc_hosts),
            https_only=settings.mode == "production",
        )
        client = OidcClient(config, rt.outbound)
        request.app.state.oidc = client
    return client


def _policy(rt: Runtime) -> sso.SsoPolicy:
    s = rt.settings
    return sso.SsoPolicy(s.oidc_issuer, parse_rules(s.oidc_roles), s.oidc_groups_claim, s.oidc_link_email)


def _page(status: int, title: str, message: str, *, clear_state: bool = True) -> Response:
    """A refusal the person at the browser can read (everything escaped; no script, no style)."""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>labelhouse: '
        f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f'<p id="reason">{html.escape(message)}</p><p><a href="{LOGIN_PAGE}">Back to log in</a></p></body></html>'
    )
    response = Response(body, status_code=status, media_type="text/html; charset=utf-8")
    if clear_state:
        response.delete_cookie(STATE_COOKIE, path=PATH, httponly=True, samesite="lax")
    return response


@router.get("/auth/oidc", response_model=SsoOut)
def sso_info(rt: RT) -> Response:
    """Whether single sign-on is on, and the provider's name for the login page."""
    on = rt.settings.oidc_enabled
    return json_response(
        {
            "enabled": on,
            "name": rt.settings.oidc_name if on else "",
            "login_url": f"{PATH}/login" if on else None,
        }
    )


@router.get(
    "/auth/oidc/login",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {"description": "to the identity provider"},
        404: {"description": "single sign-on is not configured"},
        503: {"description": "the provider cannot be used (an HTML page says why)"},
    },
)
def sso_login(request: Request, rt: RT, next: str | None = None) -> Response:
    """Start a sign-in: a fresh state, nonce and PKCE verifier are remembered for 10 minutes, the
    browser gets the state in a cookie, and goes to the provider. ``next`` is where to land after,
    a same-origin path only (anything else lands on the projects page)."""
    client = _client(request, rt)
    try:
        auth = client.authorization_request()
    except ProviderError as exc:
        return _page(503, "Single sign-on is not available", exc.message)
    with rt.db.session() as s:
        sso.begin(
            s,
            state=auth.state,
            nonce=auth.nonce,
            verifier=auth.verifier,
            next_path=safe_next(next),
            now=utcnow(),
        )
    response = RedirectResponse(auth.url, status_code=302)
    # Binds the sign-in to this browser (a link started elsewhere cannot be finished here: no
    # login CSRF). Lax, because the provider's redirect back is a cross-site top-level GET.
    response.set_cookie(
        STATE_COOKIE,
        auth.state,
        max_age=sso.REQUEST_MINUTES * 60,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or rt.settings.mode == "production",
    )
    return response


@router.get(
    "/auth/oidc/callback",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {"description": "signed in: to `next`, with the session cookie"},
        400: {"description": "unknown, used or foreign state (an HTML page says why)"},
        401: {"description": "the ID token failed a check, or the provider refused (HTML page)"},
        403: {"description": "no role for this user, or an unlinkable e-mail (HTML page)"},
        404: {"description": "single sign-on is not configured"},
        503: {"description": "the provider cannot be used (HTML page)"},
    },
)
def sso_callback(request: Request, rt: RT, code: str = "", state: str = "", error: str = "") -> Response:
    """Where the provider sends the browser back. Checks the state against this browser's cookie
    and the remembered sign-in (once), exchanges the code with the PKCE verifier, checks the ID
    token (signature, issuer, audience, times, nonce), maps the groups to workspaces and roles,
    and starts a session exactly like a password login."""
    client = _client(request, rt)
    cookies = request.cookies
    if error:
        shown = error if error.replace("_", "").isalnum() and len(error) < 64 else "error"
        return _page(401, "Sign-in refused", f"the identity provider refused the sign-in ({shown})")
    bound = cookies.get(STATE_COOKIE, "")
    if not state or not bound or not hmac.compare_digest(state.encode(), bound.encode()):
        return _page(
            400,
            "Sign-in not recognized",
            "this sign-in did not start in this browser, or took too long; start it again",
            clear_state=False,  # the cookie may belong to this browser's own sign-in in progress
        )
    try:
        with rt.db.session() as s:  # its own unit of work: the state is used up even if what follows fails
            pending = sso.take(s, state, now=utcnow())
        claims = client.verify(client.exchange(code, pending.verifier), pending.nonce)
        with rt.db.session() as s:
            issued = sso.sign_in(s, claims, _policy(rt), now=utcnow())
    except ProviderError as exc:
        return _page(503, "Single sign-on is not available", exc.message)
    except (TokenRejected, Unauthenticated) as exc:
        return _page(401, "Sign-in refused", exc.message)
    except Forbidden as exc:
        return _page(403, "No access to labelhouse", exc.message)
    except (Invalid, LabelhouseError) as exc:
        return _page(400, "Sign-in not recognized", exc.message)
    old = session_token(request.headers.get("cookie", ""))
    if old:
        with rt.db.session() as s:  # a new session id at every login (no fixation)
            sessions.end(s, old, now=utcnow())
    response = RedirectResponse(pending.next_path, status_code=302)
    response.delete_cookie(STATE_COOKIE, path=PATH, httponly=True, samesite="lax")
    return with_session_cookie(response, request, rt, issued.token)
