"""The CLI on local state: users, import with progress, export, backup and restore, demo data."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from click.testing import CliRunner
from fastapi.testclient import TestClient

from labelhouse.api.app import create_app
from labelhouse.cli.demo import seed_demo
from labelhouse.cli.main import main
from labelhouse.runtime import open_runtime
from labelhouse.services.accounts import actor_cache
from labelhouse.settings import load_settings
from tests.conftest import CHOICES_SCHEMA


def _run(*args: str, data: Path, input: str | None = None, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(
        main, [*args, "--data", str(data)], input=input, env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def _client(data: Path, env: dict[str, str] | None = None) -> TestClient:
    actor_cache.clear()
    return TestClient(create_app(open_runtime(load_settings(env=env or {}, data_dir=data)), run_jobs=False))


def test_users_import_export_backup_restore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    token = _run(
        "users", "create", "me@example.com", "--workspace", "main", "--role", "owner", "--token", data=data
    ).splitlines()[0]
    assert token.startswith("lh_")
    with _client(data) as c:
        h = {"Authorization": f"Bearer {token}"}
        pid = c.post("/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA}, headers=h).json()["id"]
    src = tmp_path / "items.jsonl"
    src.write_text("\n".join(json.dumps({"text": f"r{i}"}) for i in range(50)) + "\nnot json\n")
    out = _run("import", str(pid), str(src), data=data)
    assert "created 50" in out and "failed 1" in out and "line 51" in out
    with _client(data) as c:
        ann = {"Authorization": f"Bearer {token}"}
        h1 = c.post(f"/api/v1/projects/{pid}/next", headers=ann).json()
        r = c.post(
            f"/api/v1/tasks/{h1['task']['id']}/annotations",
            json={"answer": {"label": "pos"}, "lease_id": h1["lease"]["id"], "idempotency_key": "x"},
            headers=ann,
        )
        assert r.status_code == 201
    target = tmp_path / "export.jsonl"
    _run("export", str(pid), "--format", "jsonl", "--out", str(target), data=data)
    records = [orjson.loads(x) for x in target.read_bytes().splitlines()]
    assert len(records) == 1 and records[0]["annotations"][0]["answer"] == {"label": "pos"}

    _run("backup", str(tmp_path / "bk"), data=data)
    fresh = tmp_path / "restored"
    # A backup holds no keys: the restored install reads it with the original's keyring.
    keys = {"LABELHOUSE_KEY_DIR": str(data / "keys")}
    _run("restore", str(tmp_path / "bk"), data=fresh, env=keys)
    with _client(fresh, keys) as c:
        got = c.get(
            f"/api/v1/projects/{pid}/export?format=jsonl", headers={"Authorization": f"Bearer {token}"}
        )
        assert got.status_code == 200 and len(got.content.splitlines()) == 1


def test_restore_refuses_to_overwrite(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _run("users", "create", "me@example.com", "--workspace", "main", "--role", "owner", data=data)
    _run("backup", str(tmp_path / "bk"), data=data)
    result = CliRunner().invoke(main, ["restore", str(tmp_path / "bk"), "--data", str(data)])
    assert result.exit_code == 4 and "--force" in result.output


def test_bad_project_exits_with_not_found(tmp_path: Path) -> None:
    src = tmp_path / "x.jsonl"
    src.write_text('{"text": "a"}\n')
    _run("migrate", data=tmp_path / "d")
    result = CliRunner().invoke(main, ["import", "99", str(src), "--data", str(tmp_path / "d")])
    assert result.exit_code == 3 and "project 99 not found" in result.output


def test_commands_on_what_is_there_refuse_a_folder_without_an_install(tmp_path: Path) -> None:
    # a typo in --data (or the wrong working folder) made a new empty install there, keys and
    # all, and then said "project 1 not found" (or exported an empty audit log)
    src = tmp_path / "x.jsonl"
    src.write_text('{"text": "a"}\n')
    missing = tmp_path / "typo"
    for args in (
        ["import", "1", str(src)],
        ["export", "1"],
        ["backup", str(tmp_path / "b.tar")],
        ["users", "team", "a@b.test", "t", "--workspace", "w"],
        ["audit", "verify"],
        ["audit", "export", "--workspace", "w"],
        ["workspaces", "delete", "w", "--yes", "--reason", "typo test"],
    ):
        res = CliRunner().invoke(main, [*args, "--data", str(missing)])
        assert res.exit_code == 3, (args, res.output)
        assert "no labelhouse install" in res.output and "--data" in res.output, (args, res.output)
        assert not missing.exists(), args


def test_demo_seeds_three_projects(tmp_path: Path) -> None:
    rt = open_runtime(load_settings(env={}, data_dir=tmp_path / "demo"))
    logins = seed_demo(rt)
    owner_token = logins[0][2]
    with TestClient(create_app(rt, run_jobs=False)) as c:
        h = {"Authorization": f"Bearer {owner_token}"}
        projects = c.get("/api/v1/projects", headers=h).json()
        assert {p["name"] for p in projects} == {
            "Review sentiment",
            "Shapes in scenes",
            "Which answer is better?",
        }
        for p in projects:
            assert c.get(f"/api/v1/projects/{p['id']}/stats", headers=h).json()["tasks"] > 5
        # an annotator gets an image task with a file they may fetch while holding the lease
        ann = {"Authorization": f"Bearer {logins[1][2]}"}
        boxes = next(p for p in projects if p["name"] == "Shapes in scenes")
        h1 = c.post(f"/api/v1/projects/{boxes['id']}/next", headers=ann).json()
        url = h1["task"]["item"]["image"]["url"]
        img = c.get(url, headers=ann)
        assert img.status_code == 200 and img.content[:4] == b"\x89PNG"
        c.post(f"/api/v1/leases/{h1['lease']['id']}/release", headers=ann)
        assert c.get(url, headers=ann).status_code == 404  # no lease, no file
    seed_demo(rt)  # running demo again refills logins without duplicating projects
    with TestClient(create_app(rt, run_jobs=False)) as c:
        assert len(c.get("/api/v1/projects", headers={"Authorization": f"Bearer {owner_token}"}).json()) == 3


def test_bootstrap_token_creates_first_owner_once(tmp_path: Path) -> None:
    from labelhouse.services import accounts

    rt = open_runtime(load_settings(env={}, data_dir=tmp_path / "d"))
    with rt.db.session() as s:
        token = accounts.make_bootstrap_token(s)
    assert token
    with TestClient(create_app(rt, run_jobs=False)) as c:
        body = {
            "token": token,
            "email": "first@x.test",
            "password": "correct horse battery",
            "workspace": "main",
        }
        r = c.post("/api/v1/bootstrap", json=body)
        assert r.status_code == 201
        assert (
            c.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"}).json()["role"]
            == "owner"
        )
        assert c.post("/api/v1/bootstrap", json=body).status_code == 401
        login = c.post(
            "/api/v1/auth/login", json={"email": "first@x.test", "password": "correct horse battery"}
        )
        assert login.status_code == 200
        wrong = c.post("/api/v1/auth/login", json={"email": "first@x.test", "password": "nope nope nope"})
        nobody = c.post("/api/v1/auth/login", json={"email": "ghost@x.test", "password": "nope nope nope"})
        assert wrong.status_code == nobody.status_code == 401
        assert wrong.json() == nobody.json()
