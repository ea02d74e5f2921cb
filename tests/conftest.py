"""Shared fixtures: a runtime on SQLite and on PostgreSQL, the in-process app, users with tokens.

PostgreSQL tests run against ``LABELHOUSE_TEST_PG_URL`` (default: the local server). Outside CI
they are skipped with a message when no server answers; in CI (``CI=true``) or with
``LABELHOUSE_REQUIRE_PG=1`` a missing server fails them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.api.app import create_app
from labelhouse.core.actor import Actor
from labelhouse.formats.base import ImportRow
from labelhouse.runtime import Runtime, open_runtime
from labelhouse.services import accounts, projects
from labelhouse.services import items as item_service
from labelhouse.services.accounts import actor_cache, actor_for
from labelhouse.services.clock import utcnow
from labelhouse.settings import load_settings

PG_URL = os.environ.get("LABELHOUSE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("CI", "").lower() == "true" or os.environ.get("LABELHOUSE_REQUIRE_PG") == "1"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"

_TABLES = "annotations, drafts, leases, tasks, items, blobs, jobs, tokens, memberships, projects, users, workspaces, install_state"


def _pg_admin_url() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_database(worker_id: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test worker, dropped at the end."""
    name = f"lh_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(_pg_admin_url(), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required here (CI) but {PG_URL} does not answer: {exc}")
        pytest.skip(f"no PostgreSQL at {PG_URL} ({exc}); set LABELHOUSE_TEST_PG_URL to run these")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = _pg_admin_url().rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(_pg_admin_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def empty_pg(database_url: str) -> None:
    """Empty the worker's shared PostgreSQL database before a runtime with fresh keys opens it:
    its data was sealed with an earlier test's keys, and opening it with another key folder is
    refused (as it should be)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        try:
            conn.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE")
        except psycopg.errors.UndefinedTable:
            pass  # not migrated yet


@pytest.fixture
def rt(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A migrated runtime on a fresh database of the given backend, with its own data folder."""
    database_url = ""
    if backend == "postgresql":
        database_url = request.getfixturevalue("pg_database")
    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=database_url, job_threads=0)
    if backend == "postgresql":
        empty_pg(database_url)
    runtime = open_runtime(settings)
    if backend == "postgresql":
        with runtime.db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    actor_cache.clear()
    yield runtime
    runtime.db.dispose()
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


@pytest.fixture
def sqlite_rt(tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings(env={}, data_dir=tmp_path / "data", job_threads=0)
    runtime = open_runtime(settings)
    actor_cache.clear()
    yield runtime
    runtime.db.dispose()


@dataclass
class Person:
    email: str
    token: str
    user_id: int
    workspace_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_person(rt: Runtime, email: str, workspace: str = "acme", role: str = "owner") -> Person:
    with rt.db.session() as s:
        user, ws, issued = accounts.create_user_cli(
            s, email, workspace=workspace, role=role, password=None, with_token=True, now=utcnow()
        )
        assert issued is not None
        return Person(user.email, issued.token, user.id, ws.id)


def make_project(rt: Runtime, texts: list[str]) -> tuple[Actor, int]:
    """A new owner's choices project with one item per text (imported as the CLI does): the
    owner's actor and the project id."""
    boss = make_person(rt, "boss@acme.test")
    with rt.db.session() as s:
        owner = actor_for(s, boss.workspace_id, boss.user_id)
        pid = projects.create_project(
            s, owner, projects.ProjectSettings(name="p", schema=CHOICES_SCHEMA), now=utcnow()
        ).id
    item_service.import_stream(
        rt.db.session,
        owner,
        pid,
        [ImportRow(line=i + 1, data={"text": t}) for i, t in enumerate(texts)],
        blobs=rt.blobs,
        now=utcnow,
    )
    return owner, pid


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(rt, run_jobs=True)) as c:
        yield c


@pytest.fixture
def owner(rt: Runtime) -> Person:
    return make_person(rt, "owner@acme.test")


CHOICES_SCHEMA = {
    "controls": [{"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]}]
}
