"""Single sign-on with OpenID Connect against a fake provider on 127.0.0.1 (tests/fake_idp.py),
on SQLite and PostgreSQL: a sign-in mapped to the right workspaces and roles, every way an ID
token or a callback can be wrong refused without a session, no default role, the provider's
hosts allowed on purpose only (refused before connecting), linking by e-mail, and no open
redirect after sign-in (A-09)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from labelhouse.api.app import create_app
from labelhouse.core.errors import Invalid
from labelhouse.runtime import Runtime
from labelhouse.services import accounts
from labelhouse.services.clock import utcnow
from labelhouse.settings import load_settings
from labelhouse.storage.tables import AuditEvent, Membership, OidcLink, OidcRequest, Token, User
from tests.fake_idp import CLIENT_SECRET, FakeIdp, new_key, oidc_settings, running
from tests.security.canary import start_canary

ROLES = {"labelers": "acme:annotator", "leads": ["acme:manager", "globex:reviewer"], "bosses": "acme:owner"}
ALICE = {"sub": "alice-001", "email": "alice@acme.test", "email_verified": True, "groups": ["labelers"]}


@pytest.fixture
def idp() -> Iterator[FakeIdp]:
    with running(FakeIdp()) as provider:
        yield provider


def _app(rt: Runtime, idp: FakeIdp, **extra: Any) -> TestClient:
    rt.settings = rt.settings.with_overrides(**oidc_settings(idp, "http://testserver", ROLES, **extra))
    return TestClient(create_app(rt, run_jobs=False))


@pytest.fixture
def client(rt: Runtime, idp: FakeIdp) -> Iterator[TestClient]:
    with _app(rt, idp) as c:
        yield c


def _start(client: TestClient, next: str = "/ui/#/projects") -> str:
    """Begin a sign-in; the URL the provider sends the browser back to (the browser at the IdP)."""
    start = client.get("/api/v1/auth/oidc/login", params={"next": next}, follow_redirects=False)
    assert start.status_code == 302, start.text
    with httpx.Client(trust_env=False) as browser:
        back = browser.get(start.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    return str(back.headers["location"])


def sign_in(client: TestClient, idp: FakeIdp, claims: dict[str, Any], **start: Any) -> httpx.Response:
    idp.next_claims = claims
    return client.get(_start(client, **start), follow_redirects=False)


def _sessions(rt: Runtime) -> int:
    with rt.db.session(write=False) as s:
        return int(
            s.scalar(select(func.count()).select_from(Token).where(Token.name == "browser session")) or 0
        )


def _refused(rt: Runtime, r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "lh_session" not in r.headers.get("set-cookie", "")
    assert "Back to log in" in r.text
    assert _sessions(rt) == 0


def test_sso_sign_in_maps_groups_to_workspaces_and_roles(
    rt: Runtime, client: TestClient, idp: FakeIdp
) -> None:
    info = client.get("/api/v1/auth/oidc").json()
    assert info == {"enabled": True, "name": "Fake IdP", "login_url": "/api/v1/auth/oidc/login"}
    r = sign_in(client, idp, {**ALICE, "groups": ["labelers", "leads", "unrelated"]}, next="/ui/#/review/3")
    assert r.status_code == 302, r.text
    assert r.headers["location"] == "/ui/#/review/3"
    cookie = r.headers["set-cookie"]
    for attribute in ("lh_session=", "HttpOnly", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower(), cookie
    # PKCE and the nonce went out; the secret went to the token endpoint only (Basic auth).
    sent = idp.authorize_requests[-1]
    assert sent["code_challenge_method"] == "S256" and sent["nonce"] and sent["state"]
    assert "client_secret" not in idp.token_requests[-1]
    session = client.get("/api/v1/auth/session").json()
    assert session["email"] == "alice@acme.test"
    roles = {w["name"]: w["role"] for w in session["workspaces"]}
    assert roles == {"acme": "manager", "globex": "reviewer"}  # the highest grant per workspace
    assert (
        session["role"]
        == roles[next(w["name"] for w in session["workspaces"] if w["id"] == session["workspace_id"])]
    )
    # The session works like a password login's: CSRF on unsafe requests included.
    assert client.post("/api/v1/projects", json={"name": "P"}).status_code == 403
    with rt.db.session(write=False) as s:
        link = s.scalars(select(OidcLink)).one()
        assert (link.issuer, link.subject) == (idp.issuer, "alice-001")
        assert s.scalar(select(func.count()).select_from(OidcRequest)) == 0  # used up
        logins = s.scalars(select(AuditEvent).where(AuditEvent.action == "login")).all()
        assert logins and logins[-1].details["via"] == "oidc"
    # A second sign-in finds the same user by (issuer, subject), even under a new e-mail.
    again = sign_in(client, idp, {**ALICE, "email": "alice.new@acme.test", "groups": ["labelers"]})
    assert again.status_code == 302
    me = client.get("/api/v1/auth/session").json()
    assert me["user_id"] == session["user_id"] and me["email"] == "alice@acme.test"
    # Groups shrank: acme is now annotator, globex (managed by the rules) is gone.
    assert {w["name"]: w["role"] for w in me["workspaces"]} == {"acme": "annotator"}


def test_sso_without_a_mapped_group_is_refused(rt: Runtime, client: TestClient, idp: FakeIdp) -> None:
    r = sign_in(client, idp, {**ALICE, "groups": ["everyone", "interns"]})
    _refused(rt, r, 403)
    assert "none of your groups is mapped" in r.text
    with rt.db.session(write=False) as s:  # nothing was created: no user, no link, no membership
        assert s.scalar(select(func.count()).select_from(User)) == 0
        assert s.scalar(select(func.count()).select_from(OidcLink)) == 0
    r = sign_in(client, idp, {k: v for k, v in ALICE.items() if k != "groups"})
    _refused(rt, r, 403)


def test_sso_role_never_exceeds_the_mapping(rt: Runtime, client: TestClient, idp: FakeIdp) -> None:
    assert sign_in(client, idp, {**ALICE, "groups": ["bosses"]}).status_code == 302
    assert client.get("/api/v1/auth/session").json()["role"] == "owner"
    # Whatever the role was (raised by hand, or the rules' old grant), the next sign-in sets the
    # role the rules grant now.
    assert sign_in(client, idp, {**ALICE, "groups": ["labelers"]}).status_code == 302
    assert client.get("/api/v1/auth/session").json()["role"] == "annotator"
    # Out of every group: the membership in the managed workspace goes, and the sign-in is refused.
    _refused_after = sign_in(client, idp, {**ALICE, "groups": []})
    assert _refused_after.status_code == 403
    with rt.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Membership)) == 1  # not touched by a refusal
        events = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "role_changed" in events and "member_added" in events


BAD_TOKENS: dict[str, dict[str, Any]] = {
    "wrong issuer": {"iss": "http://evil.test"},
    "wrong audience": {"aud": "another-client"},
    "several audiences, no azp": {"aud": ["labelhouse-test", "another-client"]},
    "expired": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    "no nonce": {"nonce": None},
    "no subject": {"sub": None},
    "alg none": {"_header": {"alg": "none"}},
    "alg HS256 keyed with the public key": {"_header": {"alg": "HS256"}},
    "unknown key id": {"_header": {"kid": "k-unknown"}},
}


def test_sso_bad_id_tokens_are_refused(rt: Runtime, client: TestClient, idp: FakeIdp) -> None:
    for case, overrides in BAD_TOKENS.items():
        idp.token_overrides = overrides
        r = sign_in(client, idp, ALICE)
        assert r.status_code == 401, case
        _refused(rt, r, 401)
    idp.token_overrides = {}
    assert sign_in(client, idp, ALICE).status_code == 302  # the same flow, untampered, works


def test_sso_bad_signature_is_refused(rt: Runtime, client: TestClient, idp: FakeIdp) -> None:
    idp.sign_with = new_key()  # same key id, another key: the signature does not verify
    _refused(rt, sign_in(client, idp, ALICE), 401)


def test_sso_nonce_replay_is_refused(rt: Runtime, client: TestClient, idp: FakeIdp) -> None:
    assert sign_in(client, idp, ALICE).status_code == 302
    import jwt

    old_nonce = jwt.decode(idp.issued[-1], options={"verify_signature": False})["nonce"]
    client.cookies.clear()
    with rt.db.session() as s:  # start clean: no session left from the first sign-in
        for tok in s.scalars(select(Token)):
            s.delete(tok)
    idp.token_overrides = {"nonce": old_nonce}  # an ID token of an earlier sign-in, replayed
    _refused(rt, sign_in(client, idp, ALICE), 401)


def test_sso_state_must_match_this_browser_and_is_used_once(
    rt: Runtime, client: TestClient, idp: FakeIdp
) -> None:
    idp.next_claims = ALICE
    callback = _start(client)
    # Login CSRF: the attacker's callback URL opened in the victim's browser (no state cookie).
    with TestClient(client.app) as victim:
        _refused(rt, victim.get(callback, follow_redirects=False), 400)
        victim.cookies.set("lh_oidc", "a-state-of-their-own", domain="testserver", path="/api/v1/auth/oidc")
        _refused(rt, victim.get(callback, follow_redirects=False), 400)
    # A tampered state in the URL does not match this browser's cookie either.
    tampered = callback.replace("state=", "state=x")
    _refused(rt, client.get(tampered, follow_redirects=False), 400)
    # The real one works once; replayed with the cookie put back, the state is used up.
    state = httpx.URL(callback).params["state"]
    ok = client.get(callback, follow_redirects=False)
    assert ok.status_code == 302, ok.text
    client.cookies.set("lh_oidc", state, domain="testserver", path="/api/v1/auth/oidc")
    replay = client.get(callback, follow_redirects=False)
    assert replay.status_code == 400 and "lh_session" not in replay.headers.get("set-cookie", "")
    # The provider's own error comes back as a page too.
    r = client.get("/api/v1/auth/oidc/callback?error=access_denied&state=x", follow_redirects=False)
    assert r.status_code == 401 and "access_denied" in r.text


def test_sso_provider_host_not_allowed_is_refused_before_connecting(rt: Runtime, idp: FakeIdp) -> None:
    with pytest.raises(Invalid, match="LABELHOUSE_OIDC_HOSTS"):  # at startup, named
        load_settings(env={}, **oidc_settings(idp, "http://testserver", ROLES, oidc_hosts="127.0.0.2"))
    # And at run time, whatever the configuration says: not one connection to an unlisted host.
    with _app(rt, idp, oidc_hosts="127.0.0.2") as c:
        r = c.get("/api/v1/auth/oidc/login", follow_redirects=False)
    _refused(rt, r, 503)
    assert idp.connections == 0


@pytest.mark.parametrize("endpoint", ["token_endpoint", "jwks_uri"])
def test_sso_discovery_cannot_send_the_server_elsewhere(
    rt: Runtime, client: TestClient, idp: FakeIdp, endpoint: str
) -> None:
    canary = start_canary("127.0.0.3")
    try:
        idp.discovery_overrides = {endpoint: canary.url("/steal")}
        _refused(rt, sign_in(client, idp, ALICE), 503)
        assert canary.connections == 0
    finally:
        assert canary.server is not None
        canary.server.shutdown()
        canary.server.server_close()


def test_sso_links_existing_accounts_by_verified_email_only_when_allowed(rt: Runtime, idp: FakeIdp) -> None:
    with rt.db.session() as s:
        local, _ws, _ = accounts.create_user_cli(
            s,
            "alice@acme.test",
            workspace="acme",
            role="reviewer",
            password="a long password",
            with_token=False,
            now=utcnow(),
        )
        local_id = local.id
    with _app(rt, idp) as c:  # not allowed: refused, the account is not taken over
        r = sign_in(c, idp, ALICE)
        _refused(rt, r, 403)
        assert "LABELHOUSE_OIDC_LINK_EMAIL" in r.text
    with _app(rt, idp, oidc_link_email=True) as c:
        _refused(rt, sign_in(c, idp, {**ALICE, "email_verified": False}), 403)
        _refused(rt, sign_in(c, idp, {**ALICE, "email_verified": "true"}), 403)  # not the boolean
        r = sign_in(c, idp, ALICE)
        assert r.status_code == 302, r.text
        me = c.get("/api/v1/auth/session").json()
    assert me["user_id"] == local_id and me["role"] == "annotator"  # linked, and capped by the rules


def test_sso_secret_is_never_logged_or_returned(
    rt: Runtime, client: TestClient, idp: FakeIdp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ok = sign_in(client, idp, ALICE)
    idp.token_overrides = {"aud": "x"}
    bad = sign_in(client, idp, ALICE)
    for r in (ok, bad, client.get("/api/v1/auth/oidc"), client.get("/api/v1/openapi.json")):
        assert CLIENT_SECRET not in r.text
    assert CLIENT_SECRET not in caplog.text
    assert "refused" in caplog.text  # the refusal is logged, for the operator
    assert CLIENT_SECRET not in repr(rt.settings)


OPEN_REDIRECTS = (
    "https://evil.test",
    "//evil.test",
    "/\\evil.test",
    "\\/\\/evil.test",
    "https:evil.test",
    "javascript:alert(1)",
    "%2F%2Fevil.test",
    "/\t/evil.test",
    "//127.0.0.1:9",
)


def test_A_09_no_open_redirect_after_sso(rt: Runtime, client: TestClient, idp: FakeIdp) -> None:
    for target in OPEN_REDIRECTS:
        r = sign_in(client, idp, ALICE, next=target)
        assert r.status_code == 302
        assert r.headers["location"] == "/ui/#/projects", target
    # "/%09/evil.test" arrives as a literal path of this origin ("%09" stays encoded): kept.
    assert sign_in(client, idp, ALICE, next="/%09/evil.test").headers["location"] == "/%09/evil.test"


def test_sso_is_off_unless_configured(rt: Runtime) -> None:
    with TestClient(create_app(rt, run_jobs=False)) as c:
        assert c.get("/api/v1/auth/oidc").json() == {"enabled": False, "name": "", "login_url": None}
        assert c.get("/api/v1/auth/oidc/login").status_code == 404
        assert c.get("/api/v1/auth/oidc/callback?code=x&state=y").status_code == 404
