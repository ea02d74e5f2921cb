"""Browser sessions over HTTP (A-04, A-08): the cookie's attributes, CSRF on every unsafe request
(the fast lane included), rotation at login, revocation at logout, and workspace switching."""

from __future__ import annotations

from fastapi.testclient import TestClient

from labelhouse.runtime import Runtime
from labelhouse.services import accounts
from labelhouse.services.clock import utcnow
from tests.conftest import CHOICES_SCHEMA

PASSWORD = "a long enough password"


def _person(rt: Runtime, email: str, workspace: str, role: str = "owner") -> None:
    with rt.db.session() as s:
        accounts.create_user_cli(
            s, email, workspace=workspace, role=role, password=PASSWORD, with_token=False, now=utcnow()
        )


def _login(client: TestClient, email: str = "ann@acme.test", **extra: str) -> dict:
    r = client.post("/api/v1/auth/session", json={"email": email, "password": PASSWORD, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def test_A_04_cookie_is_httponly_samesite_strict(rt: Runtime, client: TestClient) -> None:
    _person(rt, "ann@acme.test", "acme")
    r = client.post("/api/v1/auth/session", json={"email": "ann@acme.test", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("lh_session=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=43200"):
        assert attribute.lower() in cookie.lower(), cookie
    assert "secure" not in cookie.lower()  # plain http on loopback (development)
    body = r.json()
    assert body["email"] == "ann@acme.test" and body["role"] == "owner" and body["csrf_token"]
    assert [w["name"] for w in body["workspaces"]] == ["acme"]
    # The token is in the cookie only, never in the body a script can read.
    assert r.cookies["lh_session"] not in r.text


def test_A_04_production_cookies_are_secure(rt: Runtime) -> None:
    from labelhouse.api.app import create_app

    _person(rt, "ann@acme.test", "acme")
    object.__setattr__(rt, "settings", rt.settings.with_overrides(mode="production"))
    with TestClient(create_app(rt, run_jobs=False)) as c:
        r = c.post("/api/v1/auth/session", json={"email": "ann@acme.test", "password": PASSWORD})
    assert "secure" in r.headers["set-cookie"].lower()


def test_A_08_unsafe_requests_need_the_csrf_header(rt: Runtime, client: TestClient) -> None:
    _person(rt, "ann@acme.test", "acme")
    csrf = _login(client)["csrf_token"]
    assert client.get("/api/v1/projects").status_code == 200  # safe: the cookie is enough
    body = {"name": "P", "schema": CHOICES_SCHEMA}
    refused = client.post("/api/v1/projects", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["error"]["message"]
    assert client.post("/api/v1/projects", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    made = client.post("/api/v1/projects", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    r = client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "hello"}], headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    # The fast lane (next and submit, served before the router) checks it too.
    assert client.post(f"/api/v1/projects/{pid}/next").status_code == 403
    handout = client.post(f"/api/v1/projects/{pid}/next", headers={"X-CSRF-Token": csrf}).json()
    submit = {"answer": {"label": "pos"}, "lease_id": handout["lease"]["id"], "idempotency_key": "k1"}
    task = handout["task"]["id"]
    assert client.post(f"/api/v1/tasks/{task}/annotations", json=submit).status_code == 403
    ok = client.post(f"/api/v1/tasks/{task}/annotations", json=submit, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text


def test_A_08_bearer_tokens_need_no_csrf(rt: Runtime, client: TestClient, owner) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/projects", json={"name": "P", "schema": CHOICES_SCHEMA}, headers=owner.headers)
    assert r.status_code == 201


def test_A_04_logout_revokes_the_session(rt: Runtime, client: TestClient) -> None:
    _person(rt, "ann@acme.test", "acme")
    csrf = _login(client)["csrf_token"]
    old = client.cookies["lh_session"]
    assert client.delete("/api/v1/auth/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert "lh_session" not in client.cookies
    # Replaying the old cookie after logout gets nothing.
    client.cookies.set("lh_session", old)
    assert client.get("/api/v1/auth/session").status_code == 401


def test_A_04_login_rotates_the_session(rt: Runtime, client: TestClient) -> None:
    _person(rt, "ann@acme.test", "acme")
    _login(client)
    first = client.cookies["lh_session"]
    _login(client)
    second = client.cookies["lh_session"]
    assert first != second
    _only_cookie(client, first)
    assert client.get("/api/v1/auth/session").status_code == 401  # the fixed-before-login id is dead
    _only_cookie(client, second)
    assert client.get("/api/v1/auth/session").status_code == 200


def _only_cookie(client: TestClient, token: str) -> None:
    """Send exactly this session cookie: drop the one the server set first (newer test clients
    keep it under the server's domain beside one set without a domain, and send both)."""
    client.cookies.delete("lh_session")
    client.cookies.set("lh_session", token)


def test_switch_workspace(rt: Runtime, client: TestClient) -> None:
    _person(rt, "ann@acme.test", "acme")
    _person(rt, "ann@acme.test", "globex", role="annotator")
    _person(rt, "boss@initech.test", "initech")
    session = _login(client, workspace="acme")
    names = {w["name"]: w["id"] for w in session["workspaces"]}
    assert set(names) == {"acme", "globex"}
    moved = client.post(
        "/api/v1/auth/session/workspace",
        json={"workspace_id": names["globex"]},
        headers={"X-CSRF-Token": session["csrf_token"]},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["workspace_id"] == names["globex"] and moved.json()["role"] == "annotator"
    assert moved.json()["csrf_token"] != session["csrf_token"]
    # A workspace the user does not belong to answers like one that does not exist.
    with rt.db.session() as s:
        from sqlalchemy import select

        from labelhouse.storage.tables import Workspace

        initech = s.scalars(select(Workspace.id).where(Workspace.name == "initech")).one()
    refused = client.post(
        "/api/v1/auth/session/workspace",
        json={"workspace_id": initech},
        headers={"X-CSRF-Token": moved.json()["csrf_token"]},
    )
    missing = client.post(
        "/api/v1/auth/session/workspace",
        json={"workspace_id": 999999},
        headers={"X-CSRF-Token": moved.json()["csrf_token"]},
    )
    assert refused.status_code == missing.status_code == 404
    assert refused.json()["error"]["message"].replace(str(initech), "N") == missing.json()["error"][
        "message"
    ].replace("999999", "N")


def test_A_02_session_login_is_rate_limited_and_uniform(rt: Runtime, client: TestClient) -> None:
    _person(rt, "ann@acme.test", "acme")
    wrong = client.post("/api/v1/auth/session", json={"email": "ann@acme.test", "password": "nope nope"})
    ghost = client.post("/api/v1/auth/session", json={"email": "ghost@acme.test", "password": "nope nope"})
    assert wrong.status_code == ghost.status_code == 401
    assert wrong.json() == ghost.json()
    assert "set-cookie" not in wrong.headers
    for _ in range(10):
        client.post("/api/v1/auth/session", json={"email": "ann@acme.test", "password": "nope nope"})
    blocked = client.post("/api/v1/auth/session", json={"email": "ann@acme.test", "password": PASSWORD})
    assert blocked.status_code == 429


def test_ui_page_has_a_strict_csp_and_no_inline_script(client: TestClient) -> None:
    page = client.get("/ui/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    html = page.text
    import re

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    asset = re.search(r'src="(/ui/static/[^"]+/app.js)"', html)
    assert asset is not None
    js = client.get(asset.group(1))
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "immutable" in js.headers["cache-control"]


def test_I_14_ui_assets_stay_inside_the_ui_folder(client: TestClient) -> None:
    for path in ("../settings.py", "..%2F..%2Fsettings.py", "views/../../runtime.py", "index.py"):
        r = client.get(f"/ui/static/x/{path}")
        # Either refused, or (when the client folds the dots away) the single page: never the file.
        assert r.status_code == 404 or r.headers["content-type"].startswith("text/html"), path
        assert "from __future__" not in r.text and "import" not in r.text.split("<script", 1)[0], path
