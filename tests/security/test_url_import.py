"""S-01, S-02, S-05, S-06, S-07 through the real feature: importing items whose files are URLs.

The app runs in-process with ``LABELHOUSE_OUTBOUND_ALLOW=127.0.0.2`` (the "internet" of these
tests); 127.0.0.1 and 127.0.0.3 stand for the internal network. Canary servers count connections.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image

from labelhouse.api.app import create_app
from labelhouse.cli.main import main as cli
from labelhouse.runtime import Runtime, open_runtime
from labelhouse.services.accounts import actor_cache
from labelhouse.settings import load_settings
from tests.conftest import Person, make_person

BOX_SCHEMA = {"controls": [{"name": "objects", "type": "boxes", "over": "image", "labels": ["cat"]}]}
ROOT = Path(__file__).resolve().parents[2]


def png(width: int = 8, height: int = 6) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def url_rt(tmp_path: Path) -> Iterator[Runtime]:
    env = {"LABELHOUSE_OUTBOUND_ALLOW": "127.0.0.2", "LABELHOUSE_OUTBOUND_MAX_MB": "1"}
    rt = open_runtime(load_settings(env=env, data_dir=tmp_path / "data", job_threads=0))
    rt.outbound = dataclasses.replace(rt.outbound, timeout_s=2.0, idle_timeout_s=1.0)
    actor_cache.clear()
    yield rt
    rt.db.dispose()


@pytest.fixture
def app(url_rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(url_rt, run_jobs=True)) as c:
        yield c


def _project(app: TestClient, who: Person) -> int:
    r = app.post("/api/v1/projects", json={"name": "urls", "schema": BOX_SCHEMA}, headers=who.headers)
    return int(r.json()["id"])


def _import(app: TestClient, who: Person, pid: int, rows: list[dict[str, Any]]) -> Any:
    body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    return app.post(f"/api/v1/projects/{pid}/items?format=jsonl", content=body, headers=who.headers)


def test_S_07_fetched_files_are_typed_by_content_and_served_inert(app, url_rt, canaries) -> None:  # type: ignore[no-untyped-def]
    owner = make_person(url_rt, "owner@acme.test")
    image = png()
    external = canaries(
        "127.0.0.2",
        {
            "/cat.png": (200, {"Content-Type": "text/html"}, image),  # the server's type is ignored
            "/evil.png": (200, {"Content-Type": "image/png"}, b"<html><script>alert(1)</script></html>"),
            "/x.svg": (200, {}, b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
            "/big": (200, {"Connection": "close"}, b"\x89PNG" + b"\0" * (2 * 1024 * 1024)),
            "/doc.pdf": (200, {}, b"%PDF-1.4\n%fake but pdf-shaped\n"),
        },
    )
    pid = _project(app, owner)
    r = _import(
        app,
        owner,
        pid,
        [
            {"image": {"url": external.url("/cat.png")}, "n": 1},
            {"data": {"image": {"url": external.url("/evil.png")}}, "priority": 2},
            {"image": {"url": external.url("/x.svg")}},
            {"image": {"url": external.url("/big")}},
            {"image": {"url": external.url("/doc.pdf")}},
            {"image": {"url": external.url("/cat.png"), "name": "../../etc/passwd"}},
        ],
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["created"], out["failed"]) == (2, 4), out
    errors = {e["line"]: e["message"] for e in out["errors"]}
    assert "not an allowed type" in errors[2] and "not an allowed type" in errors[3]
    assert "over 1 MB" in errors[4]
    assert "nothing else" in errors[6]
    items = app.get(f"/api/v1/projects/{pid}/items", headers=owner.headers).json()
    ref = items[0]["data"]["image"]
    assert (ref["width"], ref["height"]) == (8, 6)
    assert ref["name"].endswith(".png") and "cat" not in ref["name"]  # named by the server
    assert ref["source_url"] == external.url("/cat.png")
    got = app.get(f"/api/v1/items/{items[0]['id']}/files/image", headers=owner.headers)
    assert got.content == image and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    pdf = app.get(f"/api/v1/items/{items[1]['id']}/files/image", headers=owner.headers)
    assert pdf.headers["content-type"] == "application/octet-stream"
    assert pdf.headers["content-disposition"].startswith("attachment")
    # Stored blobs live under server-made names only (I-13): hex digests in the workspace folder.
    stored = [p for p in url_rt.settings.blob_dir.rglob("*") if p.is_file()]
    assert stored and all(len(p.name) == 64 and p.is_relative_to(url_rt.settings.blob_dir) for p in stored)


def test_S_01_S_02_url_import_refuses_internal_destinations(app, url_rt, canaries, connects) -> None:  # type: ignore[no-untyped-def]
    owner = make_person(url_rt, "owner@acme.test")
    local = canaries("127.0.0.1", {"/x": (200, {}, png())})
    internal = canaries("127.0.0.3", {"/x": (200, {}, png())})
    pid = _project(app, owner)
    urls = [
        local.url(),
        f"http://localhost:{local.port}/x",
        internal.url(),
        f"http://2130706433:{local.port}/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.1/x",
        "file:///etc/passwd",
    ]
    before = len(connects)
    r = _import(app, owner, pid, [{"image": {"url": u}} for u in urls])
    assert r.status_code == 201
    out = r.json()
    assert out["created"] == 0 and out["failed"] == len(urls)
    assert all(e["message"].endswith("destination not allowed") for e in out["errors"]), out
    assert local.connections == 0 and internal.connections == 0
    assert all(a[0] not in ("127.0.0.3", "169.254.169.254", "10.0.0.1") for a in connects[before:])


def test_S_06_remote_errors_are_blind(app, url_rt, canaries) -> None:  # type: ignore[no-untyped-def]
    owner = make_person(url_rt, "owner@acme.test")
    external = canaries(
        "127.0.0.2",
        {
            "/x": (500, {"X-Secret": "CANARY-INTERNAL-HEADER"}, b"CANARY-INTERNAL-BODY"),
            "/loop": (302, {"Location": "/loop"}, b""),
        },
    )
    pid = _project(app, owner)
    r = _import(
        app, owner, pid, [{"image": {"url": external.url("/x")}}, {"image": {"url": external.url("/loop")}}]
    )
    assert [e["message"] for e in r.json()["errors"]] == [
        "line 1: field 'image': fetch failed (HTTP 500)",
        "line 2: field 'image': fetch failed (more than 5 redirects)",
    ]
    assert "CANARY" not in r.text


def test_S_07_many_urls_become_a_job(app, url_rt, canaries) -> None:  # type: ignore[no-untyped-def]
    owner = make_person(url_rt, "owner@acme.test")
    external = canaries("127.0.0.2", {f"/{i}.png": (200, {}, png(4 + i, 4)) for i in range(25)})
    pid = _project(app, owner)
    r = _import(app, owner, pid, [{"image": {"url": external.url(f"/{i}.png")}} for i in range(25)])
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    for _ in range(300):
        job = app.get(f"/api/v1/jobs/{job_id}", headers=owner.headers).json()
        if job["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert job["state"] == "succeeded" and job["result"]["created"] == 25, job
    assert external.connections >= 1


def test_S_07_url_import_from_the_cli(url_rt, canaries, tmp_path) -> None:  # type: ignore[no-untyped-def]
    owner = make_person(url_rt, "owner@acme.test")
    external = canaries("127.0.0.2", {"/a.png": (200, {}, png())})
    with TestClient(create_app(url_rt, run_jobs=False)) as app:
        pid = _project(app, owner)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        f'{{"image": {{"url": "{external.url("/a.png")}"}}}}\n{{"image": {{"url": "http://127.0.0.1:1/"}}}}\n'
    )
    result = CliRunner().invoke(
        cli,
        ["import", str(pid), str(rows), "--data", str(url_rt.settings.data_dir)],
        env={"LABELHOUSE_OUTBOUND_ALLOW": "127.0.0.2"},
    )
    assert "created 1, duplicates 0, failed 1" in result.output, result.output
    assert "destination not allowed" in result.output


def test_S_05_no_http_client_outside_the_guarded_module() -> None:
    """Server code makes no HTTP client, socket connection or URL opener but in security/outbound.py."""
    banned_modules = {"requests", "urllib3", "http.client", "urllib.request", "boto3", "botocore", "aiohttp"}
    allowed_files = {"labelhouse/security/outbound.py"}
    problems = []
    for path in (ROOT / "labelhouse").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in allowed_files or rel.startswith("labelhouse/sdk/"):  # the SDK is a client of labelhouse
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name == "httpx" or name.startswith("httpx.") or name in banned_modules:
                    problems.append(f"{rel} imports {name}")
            if isinstance(node, ast.Attribute) and node.attr in ("create_connection", "urlopen"):
                problems.append(f"{rel} calls {node.attr}")
    assert not problems, problems
