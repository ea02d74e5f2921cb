"""A-05 (secure defaults, production refuses unsafe settings) and A-10 (no self-escalation)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.core.errors import Invalid
from labelhouse.runtime import open_runtime
from labelhouse.settings import load_settings
from tests.conftest import Person, make_person


def test_A_05_each_install_has_its_own_secret_and_no_account(tmp_path: Path) -> None:
    one = open_runtime(load_settings(env={}, data_dir=tmp_path / "one", job_threads=0))
    two = open_runtime(load_settings(env={}, data_dir=tmp_path / "two", job_threads=0))
    assert one.secret != two.secret and len(one.secret) * 8 >= 256
    assert stat.S_IMODE((tmp_path / "one").stat().st_mode) == 0o700
    with one.db.session(write=False) as s:
        assert s.execute(text("SELECT COUNT(*) FROM users")).scalar() == 0  # no default account
    from labelhouse.api.app import create_app

    with TestClient(create_app(one, run_jobs=False)) as c:
        for email, password in (("admin", "admin"), ("admin@example.com", "password"), ("owner", "12345678")):
            assert (
                c.post("/api/v1/auth/login", json={"email": email, "password": password}).status_code == 401
            )
    one.db.dispose()
    two.db.dispose()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LABELHOUSE_LOG_LEVEL": "debug"}, "LABELHOUSE_LOG_LEVEL"),
        ({"LABELHOUSE_OUTBOUND_ALLOW": "0.0.0.0/0"}, "LABELHOUSE_OUTBOUND_ALLOW"),
        ({"LABELHOUSE_OUTBOUND_ALLOW": "::/0"}, "LABELHOUSE_OUTBOUND_ALLOW"),
        ({"LABELHOUSE_OUTBOUND_ALLOW": "cdn.corp, 169.254.0.0/16"}, "LABELHOUSE_OUTBOUND_ALLOW"),
        ({"LABELHOUSE_SQLITE_SYNCHRONOUS": "OFF"}, "LABELHOUSE_SQLITE_SYNCHRONOUS"),
    ],
)
def test_A_05_production_refuses_unsafe_settings(env: dict[str, str], named: str) -> None:
    load_settings(env=env)  # development mode starts (and warns nobody)
    with pytest.raises(Invalid) as info:
        load_settings(env={**env, "LABELHOUSE_MODE": "production"})
    assert named in info.value.message  # the refusal names the setting to fix


def test_A_05_production_accepts_a_narrow_allowlist() -> None:
    settings = load_settings(
        env={"LABELHOUSE_MODE": "production", "LABELHOUSE_OUTBOUND_ALLOW": "cdn.corp, 10.0.5.0/24"}
    )
    assert settings.outbound_allow
    with pytest.raises(Invalid, match="neither a host name"):
        load_settings(env={"LABELHOUSE_OUTBOUND_ALLOW": "http://x/y"})


def test_A_10_roles_grant_only_below_their_own(client: TestClient, owner: Person, rt) -> None:  # type: ignore[no-untyped-def]
    manager = make_person(rt, "m@acme.test", role="manager")
    annotator = make_person(rt, "n@acme.test", role="annotator")
    other = make_person(rt, "b@globex.test", workspace="globex")
    url = f"/api/v1/members/{annotator.user_id}"
    for role in ("owner", "manager"):
        r = client.patch(url, json={"role": role}, headers=manager.headers)
        assert r.status_code == 403, r.text
        r = client.post(
            "/api/v1/members", json={"email": f"x-{role}@acme.test", "role": role}, headers=manager.headers
        )
        assert r.status_code == 403
    assert (
        client.patch(
            f"/api/v1/members/{owner.user_id}", json={"role": "annotator"}, headers=manager.headers
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/v1/members/{manager.user_id}", json={"role": "owner"}, headers=manager.headers
        ).status_code
        == 403
    )
    assert (
        client.patch(url, json={"role": "owner"}, headers=annotator.headers).status_code == 403
    )  # self-escalation
    assert (
        client.patch(url, json={"role": "reviewer", "is_superuser": True}, headers=owner.headers).status_code
        == 422
    )
    assert (
        client.patch(url, json={"role": "owner"}, headers=other.headers).status_code == 404
    )  # another workspace
    members = {m["user_id"]: m["role"] for m in client.get("/api/v1/members", headers=owner.headers).json()}
    assert members[annotator.user_id] == "annotator" and members[manager.user_id] == "manager"
    assert client.patch(url, json={"role": "reviewer"}, headers=manager.headers).status_code == 200
