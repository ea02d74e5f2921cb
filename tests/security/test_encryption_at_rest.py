"""Encryption at rest: payloads and files sealed per workspace (K-04), crypto-shredding (K-05),
key files (K-06), backup and restore (D-07), master key rotation, sealing an older install."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image, PngImagePlugin
from sqlalchemy import text

from labelhouse.api.app import create_app
from labelhouse.cli.main import main
from labelhouse.core.errors import Invalid, NotFound, Unavailable
from labelhouse.runtime import Runtime, open_runtime
from labelhouse.security.keyring import Shredded
from labelhouse.security.sealing import BLOB_MAGIC, Tampered, sealed_version
from labelhouse.services import audit as audit_service
from labelhouse.services.accounts import actor_cache
from labelhouse.services.at_rest import MARK
from labelhouse.services.clock import utcnow
from labelhouse.services.workspaces import delete_workspace
from labelhouse.settings import load_settings
from labelhouse.storage import backup as backups
from tests.conftest import CHOICES_SCHEMA, Person, empty_pg, make_person

CANARY = "CANARY-7f3a-client-secret-text"
PIXEL_CANARY = b"CANARY-PIXELS-91be"
SCHEMA = {
    "controls": [
        {"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]},
    ]
}
BOX_SCHEMA = {"controls": [{"name": "objects", "type": "boxes", "over": "image", "labels": ["cat"]}]}


@pytest.fixture(autouse=True)
def _leave_the_shared_database_empty(request: pytest.FixtureRequest) -> Iterator[None]:
    """These tests open more runtimes on the worker's PostgreSQL database, which leaves it marked
    as sealed with this test's keys; empty it so the next test's fresh keys may open it."""
    url = ""
    if "rt" in request.fixturenames and request.getfixturevalue("backend") == "postgresql":
        url = request.getfixturevalue("pg_database")
    yield
    if url:
        empty_pg(url)


def _png(tag: bytes = PIXEL_CANARY) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", tag.decode())
    out = io.BytesIO()
    Image.new("RGB", (9, 7), "white").save(out, format="PNG", pnginfo=info)
    assert tag in out.getvalue()
    return out.getvalue()


def _zip(png: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("canary.png", png)
    return buf.getvalue()


def _project(c: TestClient, who: Person, schema: dict = SCHEMA) -> int:  # type: ignore[type-arg]
    r = c.post("/api/v1/projects", json={"name": "p", "schema": schema}, headers=who.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _settings(data: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings(env=env, data_dir=data, job_threads=0)


def _fresh(rt: Runtime, data: Path, **env: str) -> Runtime:
    """Another install on the same kind of database: a new SQLite file, or a new PostgreSQL schema
    restored over the same throwaway database (the fixture's)."""
    actor_cache.clear()
    return open_runtime(_settings(data, **env))


# -- what lies on disk ------------------------------------------------------------------------


def test_raw_database_and_blob_folder_hold_no_plaintext(sqlite_rt: Runtime) -> None:
    owner = make_person(sqlite_rt, "o@acme.test")
    ann = make_person(sqlite_rt, "a@acme.test", role="annotator")
    with TestClient(create_app(sqlite_rt, run_jobs=False)) as c:
        pid = _project(c, owner)
        r = c.post(
            f"/api/v1/projects/{pid}/items",
            json=[{"text": f"{CANARY} #{n}"} for n in range(3)],
            headers=owner.headers,
        )
        assert r.json()["created"] == 3
        bid = _project(c, owner, BOX_SCHEMA)
        assert (
            c.post(f"/api/v1/projects/{bid}/items", content=_zip(_png()), headers=owner.headers).json()[
                "created"
            ]
            == 1
        )
        # The lease holder still gets the item and the file, in clear.
        handout = c.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).json()
        assert handout["task"]["item"]["text"].startswith(CANARY)
        image = c.post(f"/api/v1/projects/{bid}/next", headers=ann.headers).json()["task"]["item"]["image"]
        got = c.get(image["url"])
        assert got.status_code == 200 and PIXEL_CANARY in got.content
        # ... and the manager's listing too.
        listed = c.get(f"/api/v1/projects/{pid}/items", headers=owner.headers).json()
        assert all(x["data"]["text"].startswith(CANARY) for x in listed)
    data = sqlite_rt.settings.data_dir
    stored = [p for p in _files_under(data) if "keys" not in p.parts]
    assert any(p.name.startswith("labelhouse.db") for p in stored)
    for path in stored:
        raw = path.read_bytes()
        assert CANARY.encode() not in raw and PIXEL_CANARY not in raw, path
    blobs = _files_under(sqlite_rt.settings.blob_dir)
    assert len(blobs) == 1 and blobs[0].read_bytes().startswith(BLOB_MAGIC)
    # Blob names are keyed hashes: the SHA-256 of the file does not find it on disk.
    import hashlib

    assert blobs[0].name != hashlib.sha256(_png()).hexdigest()


def test_dedup_inside_a_workspace_but_no_equal_hashes_across(rt: Runtime) -> None:
    a = make_person(rt, "o@acme.test")
    b = make_person(rt, "o@globex.test", workspace="globex")
    rows = [{"text": "same words"}, {"text": "other words"}]
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pa, pb = _project(c, a), _project(c, b)
        assert c.post(f"/api/v1/projects/{pa}/items", json=rows, headers=a.headers).json()["created"] == 2
        again = c.post(f"/api/v1/projects/{pa}/items", json=rows, headers=a.headers).json()
        assert again["created"] == 0 and again["duplicates"] == 2  # idempotent re-import
        assert c.post(f"/api/v1/projects/{pb}/items", json=rows, headers=b.headers).json()["created"] == 2
    with rt.db.session(write=False) as s:
        hashes = {
            ws: {
                h
                for (h,) in s.execute(
                    text("SELECT content_hash FROM items WHERE workspace_id = :w"), {"w": ws}
                )
            }
            for ws in (a.workspace_id, b.workspace_id)
        }
    assert len(hashes[a.workspace_id]) == 2 and not hashes[a.workspace_id] & hashes[b.workspace_id]


# -- K-04 ---------------------------------------------------------------------------------------


def test_K_04_ciphertext_moved_to_another_row_or_workspace_does_not_open(rt: Runtime) -> None:
    a = make_person(rt, "o@acme.test")
    b = make_person(rt, "o@globex.test", workspace="globex")
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pa, pb = _project(c, a), _project(c, b)
        c.post(f"/api/v1/projects/{pa}/items", json=[{"text": "A one"}, {"text": "A two"}], headers=a.headers)
        c.post(f"/api/v1/projects/{pb}/items", json=[{"text": "B one"}], headers=b.headers)
        with rt.db.session() as s:
            (a1, a1_data), (a2, _) = s.execute(
                text("SELECT id, data FROM items WHERE project_id = :p ORDER BY id"), {"p": pa}
            ).all()
            (b1,) = s.execute(text("SELECT id FROM items WHERE project_id = :p"), {"p": pb}).one()
            assert sealed_version(a1_data if isinstance(a1_data, str) else str(a1_data)) == 1
            cast = "CAST(:d AS JSONB)" if not rt.db.is_sqlite else ":d"
            raw = a1_data if rt.db.is_sqlite else '"' + a1_data + '"'
            # A's first item pasted over A's second (same project) and over B's item.
            for target in (a2, b1):
                s.execute(text(f"UPDATE items SET data = {cast} WHERE id = :i"), {"d": raw, "i": target})
        listed = c.get(f"/api/v1/projects/{pa}/items", headers=a.headers)
        assert listed.status_code == 503 and "integrity" in listed.json()["error"]["message"]
        assert "A one" not in listed.text
        other = c.get(f"/api/v1/projects/{pb}/items", headers=b.headers)
        assert other.status_code == 503 and "A one" not in other.text


def test_K_04_secret_fields_are_bound_to_their_row_and_survive_rotation(rt: Runtime) -> None:
    """No table holds storage credentials, model-backend keys or webhook secrets yet; the
    mechanism they will use (``Vault.seal_field``) is pinned here."""
    a = make_person(rt, "o@acme.test")
    b = make_person(rt, "o@globex.test", workspace="globex")
    vault = rt.vault
    stored = vault.seal_field(a.workspace_id, "storages", 1, "secret_key", "AKIA-canary-secret")
    assert "AKIA" not in stored and sealed_version(stored) == 1  # ciphertext + key version
    assert vault.open_field(a.workspace_id, "storages", 1, "secret_key", stored) == "AKIA-canary-secret"
    for ws, table, row, field in (
        (b.workspace_id, "storages", 1, "secret_key"),  # another tenant's row with the same id
        (a.workspace_id, "storages", 2, "secret_key"),  # another row
        (a.workspace_id, "webhooks", 1, "secret_key"),  # another table
        (a.workspace_id, "storages", 1, "access_key"),  # another field
    ):
        with pytest.raises(Tampered):
            vault.open_field(ws, table, row, field, stored)
    # Rotating the tenant's data key: new values under version 2, the old one still opens.
    assert vault.keyring.add_version(a.workspace_id) == 2
    vault.forget(a.workspace_id)
    newer = vault.seal_field(a.workspace_id, "storages", 1, "secret_key", "second")
    assert sealed_version(newer) == 2
    assert vault.open_field(a.workspace_id, "storages", 1, "secret_key", stored) == "AKIA-canary-secret"
    assert vault.open_field(a.workspace_id, "storages", 1, "secret_key", newer) == "second"


# -- K-05 and D-07 --------------------------------------------------------------------------------


def _seed_two_tenants(rt: Runtime) -> tuple[Person, Person, int, int]:
    a = make_person(rt, "o@acme.test")
    b = make_person(rt, "o@globex.test", workspace="globex")
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pa, pb = _project(c, a, BOX_SCHEMA), _project(c, b, BOX_SCHEMA)
        assert (
            c.post(f"/api/v1/projects/{pa}/items", content=_zip(_png()), headers=a.headers).json()["created"]
            == 1
        )
        assert (
            c.post(
                f"/api/v1/projects/{pb}/items", content=_zip(_png(b"GLOBEX-PIXELS")), headers=b.headers
            ).json()["created"]
            == 1
        )
    return a, b, pa, pb


def _first_item(c: TestClient, who: Person, pid: int) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = c.get(f"/api/v1/projects/{pid}/items", headers=who.headers)
    assert r.status_code == 200, r.text
    item = r.json()[0]
    return int(item["id"]), item["data"]


def test_K_05_deleting_a_workspace_shreds_its_data_and_backups(sqlite_rt: Runtime, tmp_path: Path) -> None:
    rt = sqlite_rt
    a, b, pa, pb = _seed_two_tenants(rt)
    backups.backup(rt.settings.db_url, rt.settings.blob_dir, tmp_path / "before")
    with rt.db.session() as s:
        done = delete_workspace(s, "acme", reason="contract ended", blobs=rt.blobs, now=utcnow())
    assert done.had_key and done.rows > 0
    assert not (rt.settings.blob_dir / str(a.workspace_id)).exists()
    state = rt.vault.keyring.status()["workspaces"][str(a.workspace_id)]
    assert state["versions"] == [] and state["destroyed_at"] and state["reason"] == "contract ended"
    with rt.db.session(write=False) as s:
        assert audit_service.verify(s, None) == {name: [] for name in audit_service.verify(s, None)}
        events = list(audit_service.iter_chain(s, a.workspace_id))
        assert events[-1].action == "workspace_deleted" and events[-1].details["reason"] == "contract ended"
        assert (
            s.execute(
                text("SELECT COUNT(*) FROM items WHERE workspace_id = :w"), {"w": a.workspace_id}
            ).scalar()
            == 0
        )
    with pytest.raises(Shredded):
        rt.vault.ensure_key(a.workspace_id)  # a destroyed key never comes back
    # The backup taken before the deletion, restored into a fresh install with the current keys.
    fresh = tmp_path / "fresh"
    backups.restore(tmp_path / "before", f"sqlite:///{fresh / 'labelhouse.db'}", fresh / "blobs", force=False)
    keys = {"LABELHOUSE_KEY_DIR": str(rt.settings.keys_dir)}
    other = _fresh(rt, fresh, **keys)
    try:
        with TestClient(create_app(other, run_jobs=False)) as c:
            r = c.get(f"/api/v1/projects/{pa}/items", headers=a.headers)
            assert r.status_code == 503 and "destroyed" in r.json()["error"]["message"]
            item_id, data = _first_item(c, b, pb)  # the other tenant is untouched
            assert (
                c.get(f"/api/v1/items/{item_id}/files/image", headers=b.headers).content.find(b"GLOBEX") > 0
            )
        name = next(p.name for p in (fresh / "blobs" / str(a.workspace_id)).rglob("*") if p.is_file())
        with pytest.raises(Unavailable):
            other.blobs.get(a.workspace_id, name)
        with other.db.session(write=False) as s:
            assert audit_service.verify(s, None)["acme"] == []
    finally:
        other.db.dispose()


def test_K_05_workspaces_delete_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    for ws in ("acme", "globex"):
        out = runner.invoke(main, ["users", "create", f"o@{ws}.test", "--workspace", ws, "--data", str(data)])
        assert out.exit_code == 0, out.output
    assert runner.invoke(main, ["backup", str(tmp_path / "bk"), "--data", str(data)]).exit_code == 0
    out = runner.invoke(main, ["workspaces", "delete", "acme", "--data", str(data)])
    assert out.exit_code != 0 and "--reason" in out.output
    out = runner.invoke(
        main, ["workspaces", "delete", "acme", "--reason", "offboarded", "--yes", "--data", str(data)]
    )
    assert out.exit_code == 0 and "data key destroyed" in out.output, out.output
    out = runner.invoke(main, ["keys", "status", "--data", str(data)])
    assert "DESTROYED" in out.output and "offboarded" in out.output and "versions [1]" in out.output
    out = runner.invoke(main, ["workspaces", "delete", "acme", "--reason", "x", "--yes", "--data", str(data)])
    assert out.exit_code == 3  # not found: it is gone
    # `restore` says which workspaces of a backup can still be read with this install's keys.
    out = runner.invoke(
        main,
        ["restore", str(tmp_path / "bk"), "--data", str(tmp_path / "fresh")],
        env={"LABELHOUSE_KEY_DIR": str(data / "keys")},
    )
    assert out.exit_code == 0, out.output
    assert "workspace acme: data key destroyed" in out.output and "workspace globex: readable" in out.output


def test_an_interrupted_rotation_is_finished_at_the_next_start(tmp_path: Path) -> None:
    from labelhouse.security.keys import LocalKeyProvider, new_master_key, write_key_file

    data = tmp_path / "data"
    rt = open_runtime(_settings(data))
    make_person(rt, "o@acme.test")
    rt.db.dispose()
    key_file = data / "keys" / "master.key"
    new = new_master_key()
    write_key_file(key_file.with_name("master.key.new"), new)
    rt.vault.keyring.rewrap(LocalKeyProvider(new))  # ...and the process died before the rename
    again = open_runtime(_settings(data))
    again.db.dispose()
    assert LocalKeyProvider(new).key_id == again.vault.keyring.master_key_id
    assert not key_file.with_name("master.key.new").exists()


@pytest.mark.parametrize("shred", [False, True])
def test_D_07_backup_restores_readable_only_with_the_keyring(
    rt: Runtime, tmp_path: Path, shred: bool
) -> None:
    a, b, pa, pb = _seed_two_tenants(rt)
    with TestClient(create_app(rt, run_jobs=False)) as c:
        ann = make_person(rt, "ann@acme.test", role="annotator")
        handout = c.post(f"/api/v1/projects/{pa}/next", headers=ann.headers).json()
        r = c.post(
            f"/api/v1/tasks/{handout['task']['id']}/annotations",
            json={"answer": {"objects": []}, "lease_id": handout["lease"]["id"], "idempotency_key": "k"},
            headers=ann.headers,
        )
        assert r.status_code == 201, r.text
    target = tmp_path / "bk"
    backups.backup(rt.settings.db_url, rt.settings.blob_dir, target)
    assert not any("keys" in p.parts or p.name.endswith(".key") for p in _files_under(target))
    keyring_text = (rt.settings.keys_dir / "keyring.json").read_text()
    for path in _files_under(target):
        assert b"wrapped" not in path.read_bytes() and keyring_text[:40].encode() not in path.read_bytes()
    if shred:
        with rt.db.session() as s:
            delete_workspace(s, "acme", reason="gone", blobs=rt.blobs, now=utcnow())
    # Restore into a fresh install (PostgreSQL: over the emptied database) with the same keys.
    if rt.db.is_sqlite:
        fresh = tmp_path / "fresh"
        db_url = f"sqlite:///{fresh / 'labelhouse.db'}"
        env = {}
    else:
        fresh = tmp_path / "fresh"
        with rt.db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db_url = rt.settings.db_url
        env = {"LABELHOUSE_DATABASE_URL": rt.settings.database_url}
    rt.db.dispose()
    backups.restore(target, db_url, fresh / "blobs", force=False)
    other = _fresh(rt, fresh, LABELHOUSE_KEY_DIR=str(rt.settings.keys_dir), **env)
    try:
        with TestClient(create_app(other, run_jobs=False)) as c:
            item_b, data_b = _first_item(c, b, pb)
            assert b"GLOBEX" in c.get(f"/api/v1/items/{item_b}/files/image", headers=b.headers).content
            export = c.get(f"/api/v1/projects/{pa}/export?format=jsonl", headers=a.headers)
            if shred:
                assert c.get(f"/api/v1/projects/{pa}/items", headers=a.headers).status_code == 503
                assert export.status_code == 503 and "destroyed" in export.json()["error"]["message"]
            else:
                assert export.status_code == 200 and len(export.content.splitlines()) == 1
                item_a, _ = _first_item(c, a, pa)
                # Tenant isolation holds after restore: B cannot reach A's item or file.
                assert c.get(f"/api/v1/items/{item_a}/files/image", headers=b.headers).status_code == 404
        with other.db.session(write=False) as s:
            assert all(not problems for problems in audit_service.verify(s, None).values())
    finally:
        other.db.dispose()
    # Without the keyring (another install's keys), nothing opens and the error says why.
    stranger = _fresh(rt, tmp_path / "stranger", **env) if rt.db.is_sqlite else None
    if stranger is not None:
        stranger.db.dispose()
        other2 = _fresh(rt, fresh, LABELHOUSE_KEY_DIR=str(tmp_path / "stranger" / "keys"))
        try:
            with TestClient(create_app(other2, run_jobs=False)) as c:
                r = c.get(f"/api/v1/projects/{pb}/items", headers=b.headers)
                assert r.status_code == 503 and "LABELHOUSE_KEY_DIR" in r.json()["error"]["message"]
        finally:
            other2.db.dispose()


# -- K-06 and rotation ---------------------------------------------------------------------------


def test_K_06_key_files_are_private_and_production_keeps_keys_apart(
    sqlite_rt: Runtime, tmp_path: Path
) -> None:
    keys = sqlite_rt.settings.keys_dir
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for name in ("master.key", "keyring.json"):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(sqlite_rt.settings.data_dir.stat().st_mode) == 0o700
    assert "master_key=" not in repr(sqlite_rt.settings)
    data = tmp_path / "prod-data"
    with pytest.raises(Invalid, match="LABELHOUSE_KEY_DIR"):
        open_runtime(_settings(data, LABELHOUSE_MODE="production"))
    outside = tmp_path / "etc-keys"
    with pytest.raises(Invalid, match="MASTER_KEY_FILE inside the data folder"):
        open_runtime(
            _settings(
                data,
                LABELHOUSE_MODE="production",
                LABELHOUSE_KEY_DIR=str(outside),
                LABELHOUSE_MASTER_KEY_FILE=str(data / "m.key"),
            )
        )
    loose = tmp_path / "loose.key"
    loose.write_text((keys / "master.key").read_text())
    os.chmod(loose, 0o644)
    with pytest.raises(Invalid, match="chmod 600"):
        open_runtime(
            _settings(
                data,
                LABELHOUSE_MODE="production",
                LABELHOUSE_KEY_DIR=str(outside),
                LABELHOUSE_MASTER_KEY_FILE=str(loose),
            )
        )
    with pytest.raises(Invalid, match="44 characters"):
        open_runtime(_settings(tmp_path / "d2", LABELHOUSE_MASTER_KEY="not a key"))
    with pytest.raises(Invalid, match="does not exist"):
        open_runtime(_settings(tmp_path / "d3", LABELHOUSE_MASTER_KEY_FILE=str(tmp_path / "missing.key")))
    os.chmod(loose, 0o600)
    prod = open_runtime(
        _settings(
            data,
            LABELHOUSE_MODE="production",
            LABELHOUSE_KEY_DIR=str(outside),
            LABELHOUSE_MASTER_KEY_FILE=str(loose),
        )
    )
    prod.db.dispose()


def test_master_key_rotation_rewraps_and_retires_the_old_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    out = runner.invoke(
        main,
        [
            "users",
            "create",
            "o@acme.test",
            "--workspace",
            "acme",
            "--role",
            "owner",
            "--token",
            "--data",
            str(data),
        ],
    )
    token = out.output.splitlines()[0]
    h = {"Authorization": f"Bearer {token}"}
    actor_cache.clear()
    rt = open_runtime(_settings(data))
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pid = c.post("/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA}, headers=h).json()["id"]
        c.post(f"/api/v1/projects/{pid}/items", json=[{"text": CANARY}], headers=h)
    rt.db.dispose()
    old_key = (data / "keys" / "master.key").read_text()
    before = (data / "keys" / "keyring.json").read_text()
    with open_runtime(_settings(data)).db.session(write=False) as s:
        sealed_before = s.execute(text("SELECT data FROM items")).scalar_one()
    out = runner.invoke(main, ["keys", "rotate", "--data", str(data)])
    assert out.exit_code == 0 and "re-wrapped 1 data keys" in out.output, out.output
    assert (data / "keys" / "master.key").read_text() != old_key
    assert (data / "keys" / "keyring.json").read_text() != before
    actor_cache.clear()
    rt = open_runtime(_settings(data))
    with TestClient(create_app(rt, run_jobs=False)) as c:
        assert c.get(f"/api/v1/projects/{pid}/items", headers=h).json()[0]["data"]["text"] == CANARY
    with rt.db.session(write=False) as s:  # no data was re-encrypted
        assert s.execute(text("SELECT data FROM items")).scalar_one() == sealed_before
    rt.db.dispose()
    with pytest.raises(Unavailable, match="master key"):
        open_runtime(_settings(data, LABELHOUSE_MASTER_KEY=old_key.strip()))
    # A key from the environment: the new one goes to a file the operator then points at.
    new_key = (data / "keys" / "master.key").read_text().strip()
    out = runner.invoke(main, ["keys", "rotate", "--data", str(data)], env={"LABELHOUSE_MASTER_KEY": new_key})
    assert out.exit_code != 0 and "--new-key-file" in out.output
    target = tmp_path / "next.key"
    out = runner.invoke(
        main,
        ["keys", "rotate", "--new-key-file", str(target), "--data", str(data)],
        env={"LABELHOUSE_MASTER_KEY": new_key},
    )
    assert out.exit_code == 0 and stat.S_IMODE(target.stat().st_mode) == 0o600, out.output
    with pytest.raises(Unavailable):
        open_runtime(_settings(data, LABELHOUSE_MASTER_KEY=new_key))
    rt = open_runtime(_settings(data, LABELHOUSE_MASTER_KEY_FILE=str(target)))
    with rt.db.session(write=False) as s:
        assert s.execute(text("SELECT COUNT(*) FROM items")).scalar_one() == 1
    rt.db.dispose()


def test_an_older_install_is_sealed_at_startup(rt: Runtime) -> None:
    owner = make_person(rt, "o@acme.test")
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pid = _project(c, owner)
        bid = _project(c, owner, BOX_SCHEMA)
    import hashlib

    png = _png()
    sha = hashlib.sha256(png).hexdigest()
    files = rt.blobs.inner  # type: ignore[attr-defined]
    files.write(owner.workspace_id, sha, png)  # what an older version left: plain bytes, plain JSON
    cast = "CAST(:d AS JSONB)" if not rt.db.is_sqlite else ":d"
    with rt.db.session() as s:
        now = utcnow()
        s.execute(
            text(
                "INSERT INTO blobs (workspace_id, sha256, size, media_type, created_at) VALUES (:w, :s, 1, 'image/png', :n)"
            ),
            {"w": owner.workspace_id, "s": sha, "n": now},
        )
        for project, data in ((pid, {"text": CANARY}), (bid, {"image": {"blob": sha, "name": "x.png"}})):
            item = s.execute(
                text(
                    f"INSERT INTO items (workspace_id, project_id, content_hash, data, created_at) "
                    f"VALUES (:w, :p, 'old', {cast}, :n) RETURNING id"
                ),
                {"w": owner.workspace_id, "p": project, "d": __import__("json").dumps(data), "n": now},
            ).scalar_one()
            s.execute(
                text(
                    "INSERT INTO tasks (workspace_id, project_id, item_id, state, queue_rank, overlap, done, leased, "
                    "is_gold, created_at) VALUES (:w, :p, :i, 'open', 0, 1, 0, 0, false, :n)"
                ),
                {"w": owner.workspace_id, "p": project, "i": item, "n": now},
            )
        s.execute(text("DELETE FROM install_state WHERE key = :k"), {"k": MARK})
    rt.db.dispose()
    again = _fresh(rt, rt.settings.data_dir, LABELHOUSE_DATABASE_URL=rt.settings.database_url)
    try:
        with again.db.session(write=False) as s:
            for (data,) in s.execute(text("SELECT data FROM items")):
                assert CANARY not in str(data) and "lh1:" in str(data)
        assert files.get(owner.workspace_id, sha).startswith(BLOB_MAGIC)
        with TestClient(create_app(again, run_jobs=False)) as c:
            assert c.get(f"/api/v1/projects/{pid}/items", headers=owner.headers).json()[0]["data"] == {
                "text": CANARY
            }
            item_id, _ = _first_item(c, owner, bid)
            assert c.get(f"/api/v1/items/{item_id}/files/image", headers=owner.headers).content == png
            dup = c.post(
                f"/api/v1/projects/{pid}/items", json=[{"text": CANARY}], headers=owner.headers
            ).json()
            assert dup["created"] == 0 and dup["duplicates"] == 1  # the keyed hash was recomputed
    finally:
        again.db.dispose()


def test_unsealed_rows_are_refused(sqlite_rt: Runtime) -> None:
    owner = make_person(sqlite_rt, "o@acme.test")
    with pytest.raises(Tampered):
        sqlite_rt.vault.open_item(owner.workspace_id, 1, "x", '{"text": "plain"}')
    with pytest.raises(NotFound):
        sqlite_rt.blobs.get(owner.workspace_id, "../../etc/passwd")


def test_K_04_a_wrapped_data_key_moved_to_another_workspace_does_not_unwrap(tmp_path: Path) -> None:
    import json

    from labelhouse.security.keyring import Keyring
    from labelhouse.security.keys import LocalKeyProvider, new_master_key

    master = LocalKeyProvider(new_master_key())
    ring = Keyring(tmp_path / "keyring.json", lambda: master)
    one, two = ring.get(1, create=True), ring.get(2, create=True)
    assert one is not None and two is not None and one.keys[1] != two.keys[1]
    doc = json.loads((tmp_path / "keyring.json").read_text())
    doc["workspaces"]["1"]["keys"]["1"] = doc["workspaces"]["2"]["keys"]["1"]
    (tmp_path / "keyring.json").write_text(json.dumps(doc))
    with pytest.raises(Unavailable, match="does not unwrap"):
        Keyring(tmp_path / "keyring.json", lambda: master).get(1, create=False)
    (tmp_path / "keyring.json").unlink()
    with pytest.raises(Unavailable, match="is gone"):
        ring.get(3, create=True)


def test_a_sealed_install_never_starts_a_second_set_of_keys(sqlite_rt: Runtime, tmp_path: Path) -> None:
    make_person(sqlite_rt, "o@acme.test")
    elsewhere = tmp_path / "elsewhere"
    with pytest.raises(Unavailable, match="LABELHOUSE_KEY_DIR"):
        open_runtime(_settings(sqlite_rt.settings.data_dir, LABELHOUSE_KEY_DIR=str(elsewhere)))
    assert not (elsewhere / "keyring.json").exists() and not (elsewhere / "master.key").exists()
    out = CliRunner().invoke(main, ["keys", "status", "--data", str(tmp_path / "empty")])
    assert out.exit_code != 0 and "no keyring" in out.output


def test_K_05_the_owner_deletes_the_workspace_through_the_api(rt: Runtime) -> None:
    """K-05 without shell access: the owner types the workspace's name and a reason; lower roles
    and a wrong name change nothing; afterwards the data key is gone, every token of the workspace
    is refused, the other tenant is untouched and the chain records who did it and why."""
    a, b, pa, pb = _seed_two_tenants(rt)
    manager = make_person(rt, "m@acme.test", role="manager")
    with TestClient(create_app(rt, run_jobs=False)) as c:
        r = c.post(
            "/api/v1/workspace/delete", json={"confirm": "acme", "reason": "x"}, headers=manager.headers
        )
        assert r.status_code == 403, r.text
        r = c.post("/api/v1/workspace/delete", json={"confirm": "Acme ", "reason": "x"}, headers=a.headers)
        assert r.status_code == 422 and r.json()["error"]["field"] == "confirm", r.text
        r = c.post("/api/v1/workspace/delete", json={"confirm": "acme", "reason": ""}, headers=a.headers)
        assert r.status_code == 422, r.text
        assert c.get(f"/api/v1/projects/{pa}", headers=a.headers).status_code == 200  # nothing happened
        r = c.post(
            "/api/v1/workspace/delete",
            json={"confirm": "acme", "reason": "contract ended"},
            headers=a.headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["key_destroyed"] is True and r.json()["rows"] > 0
        for who in (a, manager):
            assert c.get("/api/v1/me", headers=who.headers).status_code == 401
        assert c.get(f"/api/v1/projects/{pb}", headers=b.headers).status_code == 200
        item_id, _ = _first_item(c, b, pb)
        assert c.get(f"/api/v1/items/{item_id}/files/image", headers=b.headers).content.find(b"GLOBEX") > 0
    state = rt.vault.keyring.status()["workspaces"][str(a.workspace_id)]
    assert state["versions"] == [] and state["reason"] == "contract ended"
    assert not (rt.settings.blob_dir / str(a.workspace_id)).exists()
    with rt.db.session(write=False) as s:
        assert audit_service.verify(s, None)["globex"] == []
        last = list(audit_service.iter_chain(s, a.workspace_id))[-1]
        assert (last.action, last.actor, last.actor_id) == ("workspace_deleted", "o@acme.test", a.user_id)
        assert last.details["reason"] == "contract ended"
        left = s.execute(text("SELECT COUNT(*) FROM items WHERE workspace_id = :w"), {"w": a.workspace_id})
        assert left.scalar() == 0
