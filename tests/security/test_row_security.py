"""PostgreSQL row security as a backstop under the workspace filters (ATTACKS.md Z-08).

The app connects as a role that is no superuser, cannot bypass row security and owns no table
(tests/security/app_role.py). With a repository function's workspace filter removed, a request of
workspace B still sees and writes nothing of A; the workspace setting lives for one transaction
only, so a pooled connection never carries one request's workspace into the next.
"""

from __future__ import annotations

import contextvars
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from labelhouse.api.app import create_app
from labelhouse.core.scope import enter_workspace
from labelhouse.runtime import Runtime, open_runtime
from labelhouse.services import projects as project_svc
from labelhouse.services.accounts import actor_cache
from labelhouse.settings import load_settings
from labelhouse.storage.database import Database
from labelhouse.storage.tables import Project
from tests.conftest import CHOICES_SCHEMA, Person, empty_pg, make_person
from tests.security.app_role import APP_ROLE, app_role_url

pytestmark = pytest.mark.postgres
# Tables with a workspace_id that row security leaves open on purpose: authentication reads them
# before it knows the workspace, and they list a user's workspaces (docs/security.md).
IDENTITY_TABLES = {"memberships", "tokens"}


@dataclass
class Tenants:
    owner_rt: Runtime  # the superuser connection: row security does not apply to it
    app_rt: Runtime  # the app's role
    app_url: str
    a: Person
    b: Person
    a_project: int
    b_project: int


def _runtime(data: Path, url: str, *, migrate: bool) -> Runtime:
    return open_runtime(
        load_settings(env={}, data_dir=data, database_url=url, job_threads=0), migrate=migrate
    )


@pytest.fixture(scope="module")
def tenants(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    data = tmp_path_factory.mktemp("rls") / "data"
    empty_pg(pg_database)  # an earlier test's data was sealed with its own keys
    owner_rt = _runtime(data, pg_database, migrate=True)
    with owner_rt.db.engine.begin() as conn:
        conn.execute(text("TRUNCATE workspaces, users, install_state RESTART IDENTITY CASCADE"))
    url = app_role_url(pg_database)
    app_rt = _runtime(data, url, migrate=False)
    actor_cache.clear()
    a = make_person(app_rt, "owner@a-rls.test", "a-rls")
    b = make_person(app_rt, "owner@b-rls.test", "b-rls")
    ids = []
    with TestClient(create_app(app_rt, run_jobs=False)) as c:
        for who in (a, b):
            r = c.post("/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA}, headers=who.headers)
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            r = c.post(
                f"/api/v1/projects/{pid}/items", json=[{"text": "x"}, {"text": "y"}], headers=who.headers
            )
            assert r.status_code == 201, r.text
            ids.append(pid)
    yield Tenants(owner_rt, app_rt, url, a, b, ids[0], ids[1])
    app_rt.db.dispose()
    owner_rt.db.dispose()
    shutil.rmtree(data, ignore_errors=True)


def test_Z_08_app_role_is_bound_by_row_security(tenants: Tenants) -> None:
    with tenants.owner_rt.db.engine.connect() as conn:
        role = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}
        ).one()
        assert tuple(role) == (False, False)
        tenant_tables = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT table_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND column_name = 'workspace_id'"
                )
            )
        }
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r'"
            )
        ).all()
    by_name = {r[0]: r for r in rows}
    assert tenant_tables - IDENTITY_TABLES, tenant_tables
    for table in sorted(tenant_tables - IDENTITY_TABLES):
        _, enabled, forced, _owner = by_name[table]
        assert enabled and forced, f"{table} has a workspace_id but no row security: add it (migration 0010)"
    assert all(r[3] != APP_ROLE for r in rows), "the app role must own no table"


def _unfiltered_list_projects(s: Any, actor: Any) -> list[Project]:
    # The repository function with its workspace filter forgotten (the LS #9796 kind of bug).
    return list(s.scalars(select(Project).where(Project.deleted_at.is_(None)).order_by(Project.id)))


def test_Z_08_a_forgotten_workspace_filter_leaks_nothing(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(project_svc, "list_projects", _unfiltered_list_projects)
    # Control: on the superuser connection the broken function does leak A's project to B.
    with TestClient(create_app(tenants.owner_rt, run_jobs=False)) as c:
        seen = {p["id"] for p in c.get("/api/v1/projects", headers=tenants.b.headers).json()}
    assert tenants.a_project in seen
    # The app's role: B sees only B's project, A only A's, through the same broken function.
    with TestClient(create_app(tenants.app_rt, run_jobs=False)) as c:
        for who, mine in ((tenants.b, tenants.b_project), (tenants.a, tenants.a_project)):
            r = c.get("/api/v1/projects", headers=who.headers)
            assert r.status_code == 200, r.text
            assert [p["id"] for p in r.json()] == [mine]


def _in_workspace(workspace_id: int | None, fn: Any) -> Any:
    """Run ``fn`` as a request of ``workspace_id`` would (a fresh context, like each request's)."""

    def run() -> Any:
        if workspace_id is not None:
            enter_workspace(workspace_id)
        return fn()

    return contextvars.copy_context().run(run)


def test_Z_08_raw_queries_and_writes_stay_in_the_workspace(tenants: Tenants) -> None:
    db = tenants.app_rt.db
    b_ws, a_ws = tenants.b.workspace_id, tenants.a.workspace_id

    def read() -> set[int]:
        with db.raw(write=False) as raw:
            rows = raw.all("SELECT DISTINCT workspace_id FROM tasks", {})
        return {int(r[0]) for r in rows}

    assert _in_workspace(b_ws, read) == {b_ws}
    assert _in_workspace(a_ws, read) == {a_ws}
    assert _in_workspace(None, read) == {a_ws, b_ws}  # the privileged path: CLI, worker

    def write_into_a() -> None:
        with db.session() as s:
            s.execute(
                text("UPDATE items SET data = data WHERE workspace_id = :a"), {"a": a_ws}
            )  # matches no row of A: invisible
            s.add(Project(workspace_id=a_ws, name="planted", schema={"controls": []}))

    with pytest.raises(Exception, match="row-level security"):
        _in_workspace(b_ws, write_into_a)


def test_Z_08_the_workspace_setting_ends_with_its_transaction(tenants: Tenants) -> None:
    # One pooled connection, used by A's unit of work, then B's, then an unscoped one.
    db = Database(tenants.app_url.replace("postgresql://", "postgresql+psycopg://"), pool_size=1)
    try:

        def probe() -> tuple[int, str, int]:
            with db.session(write=False) as s:
                pid, setting = s.execute(
                    text("SELECT pg_backend_pid(), current_setting('app.workspace_id', true)")
                ).one()
                count = s.execute(text("SELECT count(*) FROM projects")).scalar_one()
            return int(pid), str(setting or ""), int(count)

        a = _in_workspace(tenants.a.workspace_id, probe)
        b = _in_workspace(tenants.b.workspace_id, probe)
        none = _in_workspace(None, probe)
        assert a[0] == b[0] == none[0], "the probe must reuse one pooled connection"
        assert (a[1], a[2]) == (str(tenants.a.workspace_id), 1)
        assert (b[1], b[2]) == (str(tenants.b.workspace_id), 1)
        assert (none[1], none[2]) == ("", 2)
    finally:
        db.dispose()


def test_Z_08_next_in_one_statement_runs_as_the_app_and_under_row_security(tenants: Tenants) -> None:
    """``lh_next`` (migration 0013) runs with the caller's rights: the app's role may call it, and
    row security applies inside it. Asked in B's workspace scope about A's project (as a call
    whose workspace filter went wrong would), it finds no project and writes nothing."""
    with TestClient(create_app(tenants.app_rt, run_jobs=False)) as c:
        r = c.post(f"/api/v1/projects/{tenants.a_project}/next", headers=tenants.a.headers)
        assert r.status_code == 200, r.text
        assert (
            c.post(f"/api/v1/projects/{tenants.a_project}/next", headers=tenants.b.headers).status_code == 404
        )
        events = c.get(f"/api/v1/audit?lane=user:{tenants.a.user_id}", headers=tenants.a.headers).json()
        assert [e["details"]["lease"] for e in events] == [r.json()["lease"]["id"]]
    a_ws, a_user = tenants.a.workspace_id, tenants.a.user_id

    def forged() -> list[Any]:
        with tenants.app_rt.db.raw() as raw:
            return raw.all(
                "SELECT o_outcome FROM lh_next(:w, :p, :u, now(), false, true, 0.5, 2, 'x', "
                '\'"2026-01-01T00:00:00.000000Z",1,"x","task_handout"\', :l)',
                {"w": a_ws, "p": tenants.a_project, "u": a_user, "l": f"user:{a_user}"},
            )

    assert _in_workspace(tenants.b.workspace_id, forged) == [("missing",)]
    with tenants.owner_rt.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM leases")).scalar() == 1
