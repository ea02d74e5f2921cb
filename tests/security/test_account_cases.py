"""A-06 as far as it applies: there is no self-registration (and no invitation or reset flow, see
docs/security.md), and the one way in, a manager adding a member, takes no privileged field
from the body (mass assignment)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from labelhouse.runtime import Runtime
from labelhouse.storage.tables import Membership, User
from tests.conftest import Person, make_person

SIGNUP_PATHS = ("/auth/signup", "/auth/register", "/signup", "/register", "/users", "/auth/invite/accept")


def test_A_06_no_self_registration(rt: Runtime, client: TestClient) -> None:
    body = {"email": "walk-in@evil.test", "password": "a long enough password", "role": "owner"}
    for path in SIGNUP_PATHS:
        r = client.post(f"/api/v1{path}", json=body)
        assert r.status_code in (401, 404, 405), (path, r.status_code)
    with rt.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0


def test_A_06_adding_a_member_takes_no_privileged_field(
    rt: Runtime, client: TestClient, owner: Person
) -> None:
    manager = make_person(rt, "m@acme.test", role="manager")
    other = make_person(rt, "b@globex.test", workspace="globex")
    body = {
        "email": "new@acme.test",
        "role": "annotator",
        "tenant_id": other.workspace_id,
        "workspace_id": other.workspace_id,
        "is_superuser": True,
        "email_verified": True,
    }
    r = client.post("/api/v1/members", json=body, headers=manager.headers)
    assert r.status_code == 422, r.text  # extra fields are refused, not silently dropped
    with rt.db.session(write=False) as s:
        assert s.scalars(select(User).where(User.email == "new@acme.test")).first() is None
    ok = client.post(
        "/api/v1/members", json={"email": "new@acme.test", "role": "annotator"}, headers=manager.headers
    )
    assert ok.status_code == 201 and ok.json()["role"] == "annotator"
    with rt.db.session(write=False) as s:
        rows = s.execute(
            select(Membership.workspace_id, Membership.role)
            .join(User, User.id == Membership.user_id)
            .where(User.email == "new@acme.test")
        ).all()
    assert [(w, role) for w, role in rows] == [(owner.workspace_id, "annotator")]
