"""A-04: changing one's password needs the current one, and ends every other session and every
API token of the user at once (both databases)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from labelhouse.runtime import Runtime
from labelhouse.security.ratelimit import FailureLimiter
from labelhouse.services import accounts
from labelhouse.services.clock import utcnow
from labelhouse.storage.tables import AuditEvent
from tests.conftest import make_person

OLD = "the old long password"
NEW = "a brand new long password"


def _person(rt: Runtime) -> None:
    with rt.db.session() as s:
        accounts.create_user_cli(
            s,
            "ann@acme.test",
            workspace="acme",
            role="annotator",
            password=OLD,
            with_token=False,
            now=utcnow(),
        )
        accounts.create_user_cli(
            s,
            "ann@acme.test",
            workspace="globex",
            role="annotator",
            password=None,
            with_token=False,
            now=utcnow(),
        )


def _device(client: TestClient, workspace: str = "acme") -> tuple[TestClient, str]:
    device = TestClient(client.app)
    r = device.post(
        "/api/v1/auth/session", json={"email": "ann@acme.test", "password": OLD, "workspace": workspace}
    )
    assert r.status_code == 200, r.text
    return device, r.json()["csrf_token"]


def test_A_04_password_change_ends_other_sessions_and_tokens(rt: Runtime, client: TestClient) -> None:
    _person(rt)
    laptop, csrf = _device(client)
    phone, _ = _device(client)
    other_workspace, _ = _device(client, "globex")
    token = client.post("/api/v1/auth/login", json={"email": "ann@acme.test", "password": OLD}).json()[
        "token"
    ]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    assert phone.get("/api/v1/auth/session").status_code == 200

    changed = laptop.post(
        "/api/v1/auth/password",
        json={"current_password": OLD, "new_password": NEW},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"sessions_revoked": 2, "tokens_revoked": 1}
    # The other device, the other workspace's session and the API token are dead on their next
    # request; the session that made the change goes on.
    assert phone.get("/api/v1/auth/session").status_code == 401
    assert other_workspace.get("/api/v1/auth/session").status_code == 401
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert laptop.get("/api/v1/auth/session").status_code == 200
    # Only the new password logs in now.
    assert (
        client.post("/api/v1/auth/login", json={"email": "ann@acme.test", "password": OLD}).status_code == 401
    )
    assert (
        client.post("/api/v1/auth/login", json={"email": "ann@acme.test", "password": NEW}).status_code == 200
    )
    with rt.db.session(write=False) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "password_changed")).all()
    assert len(events) == 2  # one per workspace of the user
    assert OLD not in str([e.details for e in events]) and NEW not in str([e.details for e in events])
    for c in (laptop, phone, other_workspace):
        c.close()


def test_A_04_password_change_needs_the_current_password(rt: Runtime, client: TestClient) -> None:
    _person(rt)
    laptop, csrf = _device(client)
    phone, _ = _device(client)
    headers = {"X-CSRF-Token": csrf}
    wrong = laptop.post(
        "/api/v1/auth/password",
        json={"current_password": "not my password", "new_password": NEW},
        headers=headers,
    )
    assert wrong.status_code == 403 and "current password is wrong" in wrong.json()["error"]["message"]
    assert phone.get("/api/v1/auth/session").status_code == 200  # nothing revoked
    short = laptop.post(
        "/api/v1/auth/password", json={"current_password": OLD, "new_password": "short"}, headers=headers
    )
    assert short.status_code == 422 and short.json()["error"]["field"] == "password"
    same = laptop.post(
        "/api/v1/auth/password", json={"current_password": OLD, "new_password": OLD}, headers=headers
    )
    assert same.status_code == 422
    # Without the CSRF header a cookie session cannot change it.
    assert (
        laptop.post("/api/v1/auth/password", json={"current_password": OLD, "new_password": NEW}).status_code
        == 403
    )
    # Extra fields are refused, not ignored.
    extra = laptop.post(
        "/api/v1/auth/password",
        json={"current_password": OLD, "new_password": NEW, "email": "x@evil.test"},
        headers=headers,
    )
    assert extra.status_code == 422
    # A stolen session cannot guess the password: wrong guesses count against the login limit
    # (here 3 instead of 10, to spare the argon2 hashes).
    limits = client.app.state.login_limits  # type: ignore[attr-defined]
    limits.by_email = FailureLimiter(limit=3, window=600)
    for _ in range(3):
        laptop.post(
            "/api/v1/auth/password",
            json={"current_password": "guess guess", "new_password": NEW},
            headers=headers,
        )
    blocked = laptop.post(
        "/api/v1/auth/password", json={"current_password": OLD, "new_password": NEW}, headers=headers
    )
    assert blocked.status_code == 429
    assert (
        client.post("/api/v1/auth/login", json={"email": "ann@acme.test", "password": OLD}).status_code == 429
    )
    for c in (laptop, phone):
        c.close()


def test_A_04_token_only_accounts_have_no_password_to_change(rt: Runtime, client: TestClient) -> None:
    person = make_person(rt, "bot@acme.test", role="annotator")
    r = client.post(
        "/api/v1/auth/password",
        json={"current_password": "anything at all", "new_password": NEW},
        headers=person.headers,
    )
    assert r.status_code == 422 and "no password" in r.json()["error"]["message"]
    assert client.get("/api/v1/me", headers=person.headers).status_code == 200


def test_A_03_operator_reset_revokes_every_session_and_token(rt: Runtime, client: TestClient) -> None:
    """No e-mailed reset exists; an operator sets a new password (``labelhouse users create``),
    and that ends every way in made with the old one."""
    _person(rt)
    laptop, _ = _device(client)
    token = client.post("/api/v1/auth/login", json={"email": "ann@acme.test", "password": OLD}).json()[
        "token"
    ]
    with rt.db.session() as s:
        accounts.create_user_cli(
            s,
            "ann@acme.test",
            workspace="acme",
            role="annotator",
            password=NEW,
            with_token=False,
            now=utcnow(),
            reset=True,  # what `labelhouse users create` passes
        )
    assert laptop.get("/api/v1/auth/session").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert (
        client.post("/api/v1/auth/login", json={"email": "ann@acme.test", "password": NEW}).status_code == 200
    )
    laptop.close()
