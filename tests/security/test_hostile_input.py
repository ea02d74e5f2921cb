"""I-02..I-07, I-11, I-13, I-14, I-16: hostile bodies, files, names and failures, through the API."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from labelhouse.api import bodylimit
from labelhouse.api.app import create_app
from labelhouse.blobs.local import LocalBlobStore
from labelhouse.core.errors import Invalid, NotFound
from labelhouse.formats import media
from labelhouse.formats.csvfile import CsvReader
from labelhouse.runtime import Runtime
from labelhouse.security.sealing import BLOB_OVERHEAD
from tests.api.test_workspace_rules import _label_all
from tests.conftest import CHOICES_SCHEMA, Person, make_person
from tests.formats.test_images import _bilevel_png
from tests.security.test_url_import import png

BOX_SCHEMA = {"controls": [{"name": "objects", "type": "boxes", "over": "image", "labels": ["cat"]}]}


@pytest.fixture
def app(sqlite_rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_rt, run_jobs=False), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def boss(sqlite_rt: Runtime) -> Person:
    return make_person(sqlite_rt, "owner@acme.test")


def _project(app: TestClient, who: Person, schema: dict = BOX_SCHEMA) -> int:  # type: ignore[type-arg]
    return int(
        app.post("/api/v1/projects", json={"name": "p", "schema": schema}, headers=who.headers).json()["id"]
    )


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * size
        sent += size


def test_I_03_bodies_are_bounded_with_or_without_content_length(app, boss, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(bodylimit, "MAX_JSON_BODY", 1024 * 1024)
    h = {**boss.headers, "content-type": "application/json"}
    declared = app.post(
        "/api/v1/projects", content=b"{}", headers={**h, "content-length": str(2 * 1024 * 1024)}
    )
    assert declared.status_code == 413
    chunked = app.post("/api/v1/projects", content=_chunks(2 * 1024 * 1024), headers=h)  # no Content-Length
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "too_large"
    lane = app.post(
        "/api/v1/tasks/1/annotations", content=_chunks(2 * 1024 * 1024), headers=h
    )  # the fast lane
    assert lane.status_code == 413
    pid = _project(app, boss, CHOICES_SCHEMA)
    small = app.post(f"/api/v1/projects/{pid}/items", json=[{"text": "x" * 2_000_000}], headers=boss.headers)
    assert small.status_code == 201  # an import may be larger than a JSON call


def test_I_03_import_body_over_the_setting_is_refused_while_streaming(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from labelhouse.runtime import open_runtime
    from labelhouse.settings import load_settings

    rt = open_runtime(
        load_settings(env={"LABELHOUSE_MAX_BODY_MB": "1"}, data_dir=tmp_path / "d", job_threads=0)
    )
    who = make_person(rt, "o@acme.test")
    with TestClient(create_app(rt, run_jobs=False)) as app:
        pid = _project(app, who, CHOICES_SCHEMA)
        r = app.post(
            f"/api/v1/projects/{pid}/items?format=jsonl",
            content=_chunks(3 * 1024 * 1024),
            headers=who.headers,
        )
        assert r.status_code == 413 and "LABELHOUSE_MAX_BODY_MB" in r.json()["error"]["message"]
    assert list(rt.settings.upload_dir.iterdir()) == []  # the spooled part was removed
    rt.db.dispose()


def test_I_02_field_sizes_and_numbers_are_bounded(app, boss) -> None:  # type: ignore[no-untyped-def]
    h = boss.headers
    assert (
        app.post(
            "/api/v1/projects", json={"name": "n" * 10_000, "schema": CHOICES_SCHEMA}, headers=h
        ).status_code
        == 422
    )
    r = app.post("/api/v1/auth/login", json={"email": "owner@acme.test", "password": "p" * 1_000_000})
    assert r.status_code == 422  # refused before a megabyte is hashed
    huge = b'{"name": "x", "overlap": ' + b"9" * 50_000 + b', "schema": {}}'
    r = app.post("/api/v1/projects", content=huge, headers={**h, "content-type": "application/json"})
    assert 400 <= r.status_code < 500
    pid = _project(app, boss, CHOICES_SCHEMA)
    r = app.post(
        f"/api/v1/projects/{pid}/items?format=jsonl",
        content=b'{"text": "a", "n": ' + b"9" * 50_000 + b"}\n",
        headers=h,
    )
    assert r.status_code == 201 and r.json()["failed"] == 1


def test_I_04_archive_bomb_is_refused_before_extraction(app, boss, sqlite_rt) -> None:  # type: ignore[no-untyped-def]
    pid = _project(app, boss)
    bomb = _zip([("bomb.png", b"\0" * (20 * 1024 * 1024)), ("ok.png", png())])
    assert len(bomb) < 100_000
    out = app.post(f"/api/v1/projects/{pid}/items", content=bomb, headers=boss.headers).json()
    assert out["created"] == 1 and "zip bomb" in out["errors"][0]["message"]
    sizes = [p.stat().st_size for p in sqlite_rt.settings.blob_dir.rglob("*") if p.is_file()]
    assert sizes == [len(png()) + BLOB_OVERHEAD]  # only the real image was written (sealed)


def test_I_05_pixel_bombs_and_formats_outside_the_allowlist(app, boss) -> None:  # type: ignore[no-untyped-def]
    pid = _project(app, boss)
    fits = b"SIMPLE  =                    T" + b" " * 2850
    entries = [
        ("flood.png", _bilevel_png(50_000, 50_000)),
        ("x.fits", fits),
        ("x.psd", b"8BPS\x00\x01" + b"\0" * 100),
        ("x.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n"),
    ]
    out = app.post(f"/api/v1/projects/{pid}/items", content=_zip(entries), headers=boss.headers).json()
    assert out["created"] == 0 and out["failed"] == 4
    assert "decompression bomb" in out["errors"][0]["message"]
    for _name, data in entries:
        with pytest.raises(Invalid):
            media.identify(data)


def test_I_06_I_07_types_come_from_content_and_files_are_served_inert(app, boss) -> None:  # type: ignore[no-untyped-def]
    pid = _project(app, boss)
    polyglot = png() + b"<html><script>alert(1)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    gif_js = b"GIF89a/*\x00\x00*/=alert(1)//"
    entries = [("page.html", polyglot), ("pic.svg", svg), ("a.gif", gif_js), ("b.png", b"<html>hi</html>")]
    out = app.post(f"/api/v1/projects/{pid}/items", content=_zip(entries), headers=boss.headers).json()
    assert out["created"] == 1 and out["failed"] == 3, out
    item = app.get(f"/api/v1/projects/{pid}/items", headers=boss.headers).json()[0]
    r = app.get(f"/api/v1/items/{item['id']}/files/image", headers=boss.headers)
    assert r.headers["content-type"] == "image/png"  # by content, not by the .html name
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    for data in (svg, b"<!DOCTYPE html><p>x", b"<?xml version='1.0'?><svg/>", b"#!/bin/sh\nrm -rf /"):
        with pytest.raises(Invalid):
            media.identify(data)
    assert media.identify(b"RIFF\0\0\0\0WAVEfmt ").media_type == "audio/wav"
    assert media.identify(b"\0\0\0\x18ftypisom").media_type == "video/mp4"
    assert media.identify(b"# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\n").media_type == "image/x-pcd"
    assert not media.identify(b"%PDF-1.7\n").inline


def test_I_13_file_names_never_become_paths(app, boss, sqlite_rt) -> None:  # type: ignore[no-untyped-def]
    pid = _project(app, boss)
    names = [
        "../../etc/cron.d/x.png",
        "..\\..\\x.png",
        "/etc/passwd.png",
        "C:\\Windows\\x.png",
        "x%2f..%2f..%2fy.png",
        "CON",
        "n" * 5000 + ".png",
        "\"; filename*=UTF-8''evil.html",
        "a\r\nSet-Cookie: x=1.png",
    ]
    entries = [(n, png(4 + i, 4)) for i, n in enumerate(names)]
    out = app.post(f"/api/v1/projects/{pid}/items", content=_zip(entries), headers=boss.headers).json()
    assert out["created"] == len(names), out
    root = sqlite_rt.settings.blob_dir.resolve()
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == len(names)
    assert all(p.resolve().is_relative_to(root) and len(p.name) == 64 for p in files)  # server-made ids
    assert not (sqlite_rt.settings.data_dir / "etc").exists()
    stored = [
        i["data"]["image"]["name"]
        for i in app.get(f"/api/v1/projects/{pid}/items", headers=boss.headers).json()
    ]
    assert all(".." not in n.split("/") and not n.startswith("/") and not n.endswith(":") for n in stored)
    assert all(len(n) <= 255 and not any(ord(c) < 32 for c in n) for n in stored)  # I-12: no control chars
    item = app.get(f"/api/v1/projects/{pid}/items", headers=boss.headers).json()[-1]
    r = app.get(f"/api/v1/items/{item['id']}/files/image", headers=boss.headers)
    assert "set-cookie" not in r.headers and "content-disposition" not in r.headers  # an image: inline


def test_I_14_file_serving_stays_inside_the_store(app, boss, sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pid = _project(app, boss)
    app.post(f"/api/v1/projects/{pid}/items", content=_zip([("a.png", png())]), headers=boss.headers)
    item = app.get(f"/api/v1/projects/{pid}/items", headers=boss.headers).json()[0]
    secret = sqlite_rt.settings.data_dir / "secret.txt"
    secret.write_text("CANARY-SECRET")
    for field in (
        "..%2F..%2Fsecret.txt",
        "%2e%2e%2fsecret.txt",
        "..%252f..%252fsecret.txt",
        "image%00",
        "../../secret.txt",
    ):
        r = app.get(f"/api/v1/items/{item['id']}/files/{field}", headers=boss.headers)
        assert r.status_code == 404 and "CANARY" not in r.text, (field, r.status_code)
    store = LocalBlobStore(sqlite_rt.settings.blob_dir)
    for sha in ("../../secret.txt", "/etc/passwd", "..", "a" * 63 + "/", "A" * 64):
        with pytest.raises(NotFound):
            store.get(1, sha)


def test_I_11_csv_export_neutralizes_formulas(app, boss, sqlite_rt) -> None:  # type: ignore[no-untyped-def]
    pid = _project(app, boss, CHOICES_SCHEMA)
    payloads = [
        '=HYPERLINK("http://x")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1)",
        "\t=1+1",
        "\r=1+1",
        "＝1+1",
        "plain",
    ]
    app.post(f"/api/v1/projects/{pid}/items", json=[{"text": p} for p in payloads], headers=boss.headers)
    assert _label_all(app, boss, pid, {"label": "pos"}) == len(payloads)
    body = app.get(f"/api/v1/projects/{pid}/export?format=csv", headers=boss.headers).text
    rows = list(csv.DictReader(io.StringIO(body)))
    cells = [r["item.text"] for r in rows]
    assert sorted(cells) == sorted("'" + p if p != "plain" else p for p in payloads)
    jsonl = app.get(f"/api/v1/projects/{pid}/export?format=jsonl", headers=boss.headers).text
    assert '"=HYPERLINK' in jsonl  # JSON keeps the raw value
    back = [r.data["item.text"] for r in CsvReader().read(io.BytesIO(body.encode())) if r.data]
    assert sorted(back) == sorted(payloads)  # and the escaping round-trips


def test_I_16_errors_never_leak_internals(app, boss, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from labelhouse.services import projects

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            '(psycopg.errors.UndefinedTable) relation "projects" SELECT * FROM projects /srv/lh/secret.py'
        )

    monkeypatch.setattr(projects, "list_projects", boom)
    r = app.get("/api/v1/projects", headers=boss.headers)
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
    for leak in ("Traceback", "SELECT", "psycopg", "/srv", "RuntimeError", 'projects"'):
        assert leak not in r.text and leak not in str(r.headers)
    assert "server" not in {k.lower() for k in r.headers}  # no library version banner
