"""R-02, R-05, R-06, R-07, R-08: rate limits, storage quotas, Range abuse, job fan-out, connection caps."""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from labelhouse.api import throttle
from labelhouse.api.app import create_app
from labelhouse.api.onewrite import OneWriteHttpToolsProtocol
from labelhouse.api.routes import items as item_routes
from labelhouse.runtime import Runtime, open_runtime
from labelhouse.services import jobs
from labelhouse.services.accounts import actor_cache
from labelhouse.settings import load_settings
from tests.conftest import CHOICES_SCHEMA, Person, make_person

BOX_SCHEMA = {"controls": [{"name": "objects", "type": "boxes", "over": "image", "labels": ["cat"]}]}


@pytest.fixture
def limited(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A runtime with a low request rate and a 1 MiB storage quota per workspace."""
    url = request.getfixturevalue("pg_database") if backend == "postgresql" else ""
    env = {"LABELHOUSE_RATE_LIMIT": "3", "LABELHOUSE_WORKSPACE_QUOTA_MB": "1"}
    if backend == "postgresql":
        from tests.conftest import empty_pg

        empty_pg(url)  # its rows were sealed with an earlier test's keys
    rt = open_runtime(load_settings(env=env, data_dir=tmp_path / "d", database_url=url, job_threads=0))
    if backend == "postgresql":
        from sqlalchemy import text

        from tests.conftest import _TABLES

        with rt.db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    actor_cache.clear()
    yield rt
    rt.db.dispose()


class _Clock:
    """The throttle's clock, frozen so a slow (loaded) machine cannot refill the bucket mid-test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_R_02_each_token_has_its_own_rate_and_a_flood_gets_429_with_retry_after(
    limited: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(throttle, "time", clock)
    a = make_person(limited, "a@acme.test", "acme")
    b = make_person(limited, "b@globex.test", "globex")
    with TestClient(create_app(limited, run_jobs=False)) as c:
        codes = [c.get("/api/v1/projects", headers=a.headers).status_code for _ in range(45)]
        assert codes[:30] == [200] * 30  # a burst of ten seconds' worth goes through
        assert 429 in codes
        r = c.get("/api/v1/projects", headers=a.headers)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "LABELHOUSE_RATE_LIMIT" in r.json()["error"]["message"]
        lane = c.post("/api/v1/projects/1/next", headers=a.headers)  # the fast lane is counted too
        assert lane.status_code == 429
        # The other tenant's token is unaffected, and so is the health check.
        assert all(c.get("/api/v1/projects", headers=b.headers).status_code == 200 for _ in range(10))
        assert c.get("/api/v1/health").status_code == 200
        clock.now += 1.1  # the bucket refills at the configured rate
        assert c.get("/api/v1/projects", headers=a.headers).status_code == 200


def _noise_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, format="PNG")
    return out.getvalue()


def _zip(*files: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i, data in enumerate(files):
            z.writestr(f"{i}.png", data)
    return out.getvalue()


def test_R_05_a_workspace_cannot_store_past_its_quota(limited: Runtime) -> None:
    a = make_person(limited, "a@acme.test", "acme")
    b = make_person(limited, "b@globex.test", "globex")
    with TestClient(create_app(limited, run_jobs=False)) as c:
        pa = c.post("/api/v1/projects", json={"name": "a", "schema": BOX_SCHEMA}, headers=a.headers).json()[
            "id"
        ]
        pb = c.post("/api/v1/projects", json={"name": "b", "schema": BOX_SCHEMA}, headers=b.headers).json()[
            "id"
        ]
        half = _noise_png(380)  # ~430 KB each
        assert 400_000 < len(half) < 520_000
        assert (
            c.post(f"/api/v1/projects/{pa}/items", content=_zip(half), headers=a.headers).json()["created"]
            == 1
        )
        r = c.post(
            f"/api/v1/projects/{pa}/items", content=_zip(_noise_png(381), _noise_png(382)), headers=a.headers
        )
        assert r.status_code == 413
        message = r.json()["error"]["message"]
        assert "quota is 1 MiB" in message and "LABELHOUSE_WORKSPACE_QUOTA_MB" in message
        assert len(c.get(f"/api/v1/projects/{pa}/items", headers=a.headers).json()) == 1
        # The same file again costs nothing (stored once), and the other workspace has its own quota.
        assert (
            c.post(f"/api/v1/projects/{pa}/items", content=_zip(half), headers=a.headers).status_code == 201
        )
        r = c.post(
            f"/api/v1/projects/{pb}/items", content=_zip(_noise_png(383), _noise_png(384)), headers=b.headers
        )
        assert r.status_code == 201 and r.json()["created"] == 2


def test_R_06_many_ranges_are_ignored_and_cost_one_plain_answer(client: TestClient, owner: Person) -> None:
    pid = client.post(
        "/api/v1/projects", json={"name": "p", "schema": BOX_SCHEMA}, headers=owner.headers
    ).json()["id"]
    png = _noise_png(64)
    client.post(f"/api/v1/projects/{pid}/items", content=_zip(png), headers=owner.headers)
    item = client.get(f"/api/v1/projects/{pid}/items", headers=owner.headers).json()[0]
    ranges = "bytes=" + ",".join(f"{i}-{i + 100}" for i in range(10_000))
    started = time.monotonic()
    r = client.get(f"/api/v1/items/{item['id']}/files/image", headers={**owner.headers, "Range": ranges})
    assert time.monotonic() - started < 2
    assert r.status_code == 200 and r.content == png and "content-range" not in r.headers


def test_R_07_queued_jobs_are_capped_per_user_and_per_workspace(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(item_routes, "_many_fetches", lambda reader, data: True)  # every import is a job
    monkeypatch.setattr(jobs, "MAX_OPEN_PER_WORKSPACE", 8)
    people = [make_person(rt, f"m{i}@acme.test", "acme", "manager") for i in range(2)]
    owner = make_person(rt, "owner@acme.test", "acme", "owner")
    other = make_person(rt, "o@globex.test", "globex", "owner")
    body = b'{"text": "a"}\n'
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pid = c.post(
            "/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA}, headers=owner.headers
        ).json()["id"]
        qid = c.post(
            "/api/v1/projects", json={"name": "q", "schema": CHOICES_SCHEMA}, headers=other.headers
        ).json()["id"]

        def enqueue(who: Person, project: int) -> int:
            return c.post(
                f"/api/v1/projects/{project}/items?format=jsonl", content=body, headers=who.headers
            ).status_code

        assert [enqueue(people[0], pid) for _ in range(jobs.MAX_OPEN_PER_USER)] == [
            202
        ] * jobs.MAX_OPEN_PER_USER
        r = c.post(f"/api/v1/projects/{pid}/items?format=jsonl", content=body, headers=people[0].headers)
        assert r.status_code == 429 and r.headers["retry-after"] == "10" and "jobs queued" in r.text
        assert [enqueue(people[1], pid) for _ in range(3)] == [202] * 3  # another user of the workspace may
        assert enqueue(owner, pid) == 429  # ... until the workspace as a whole is at its cap
        assert enqueue(other, qid) == 202  # another workspace is not held up
    spooled = list(rt.settings.upload_dir.iterdir())
    assert len(spooled) == 9  # refused bodies were not left behind


def test_R_08_serve_runs_uvicorn_with_connection_caps(
    sqlite_rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labelhouse.cli import server

    seen: dict[str, object] = {}
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: seen.update(kw))
    server.run_server(sqlite_rt)
    assert seen["limit_concurrency"] == 1000 and seen["timeout_keep_alive"] == 5
    assert seen["h11_max_incomplete_event_size"] == 64 * 1024
    assert seen["http"] is OneWriteHttpToolsProtocol  # a response is one write (api/onewrite.py)
