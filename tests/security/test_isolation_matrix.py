"""The isolation matrix (ATTACKS.md A-01, Z-01, Z-03, Z-05, Z-06): every route x every actor kind.

One world per backend per module: workspace A (owner, manager, reviewer, annotator, a vendor
annotator limited to another project) and workspace B (owner, annotator). Every cell of
``matrix.MATRIX`` is one call against A's objects. The test checks the status, that a denied call
changed no row and no stored file, that a 404 is byte-identical to the 404 for an id that never
existed, and that no response carries A's canaries to B (or project P's to the vendor). A call
that changed state marks the world dirty; it is rebuilt before the next call.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import MetaData, text

from labelhouse.api.app import create_app
from labelhouse.jobs import queue as job_queue
from labelhouse.runtime import Runtime, open_runtime
from labelhouse.services.accounts import actor_cache
from labelhouse.services.clock import utcnow
from labelhouse.settings import load_settings
from tests.conftest import Person, empty_pg, make_person
from tests.security.app_role import app_role_url
from tests.security.matrix import ACTORS, CROSS, DEFAULT_PARAMS, EXCLUDED_PATHS, MATRIX, Cross, Row

IMAGE_SCHEMA = {
    "controls": [{"name": "label", "type": "choices", "over": "image", "options": ["pos", "neg"]}]
}
TEXT_SCHEMA = {"controls": [{"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]}]}
# Marks no B actor may ever see (A's names and e-mails), and none the vendor may see (project P).
A_MARKS = (b"CANARY-A", b"@acme.test", b"@vendor.test")
P_MARK = b"CANARY-A-P1"
# Tables whose rows make up the state a denied call must not change. Audit tables are left out:
# a denied call is allowed (ATTACKS §0: expected) to append an audit event.
IGNORED_TABLES = {"alembic_version", "install_state"}
GHOST_BASE = 900_000_000


def _zip(prefix: str, count: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(count):
            img = io.BytesIO()
            Image.new("RGB", (8 + i, 8), (i * 20 % 256, 80, 120)).save(img, format="PNG")
            z.writestr(f"{prefix}-img-{i}.png", img.getvalue())
    return buf.getvalue()


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


@dataclass
class World:
    people: dict[str, Person]
    ids: dict[str, int]  # $fixture name -> id
    other_item: int  # an item of P nobody holds a lease on
    other_task: int


class Lab:
    """A runtime, the app, and A's world; ``fresh()`` rebuilds the world after a state change."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.app = create_app(rt, run_jobs=False)
        self.client = TestClient(self.app)
        self.admin = rt.db.engine  # resets the world; on PostgreSQL, the tables' owner
        self.dirty = True
        self._world: World | None = None
        meta = MetaData()
        meta.reflect(rt.db.engine)
        self.tables = [t for t in reversed(meta.sorted_tables) if t.name not in {"alembic_version"}]
        self.state_tables = [
            t.name for t in self.tables if t.name not in IGNORED_TABLES and not t.name.startswith("audit")
        ]

    def fresh(self) -> World:
        if self.dirty or self._world is None:
            self._reset()
            self._world = self._seed()
            self.dirty = False
        return self._world

    def _reset(self) -> None:
        with self.admin.begin() as conn:
            if self.rt.db.is_sqlite:
                for t in self.tables:
                    conn.execute(text(f"DELETE FROM {t.name}"))
            else:
                names = ", ".join(t.name for t in self.tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        shutil.rmtree(self.rt.settings.blob_dir, ignore_errors=True)
        actor_cache.clear()

    def _seed(self) -> World:
        rt, c = self.rt, self.client
        people = {
            "owner": make_person(rt, "owner@acme.test", "acme", "owner"),
            "manager": make_person(rt, "mgr@acme.test", "acme", "manager"),
            "reviewer": make_person(rt, "rev@acme.test", "acme", "reviewer"),
            "annotator": make_person(rt, "ann@acme.test", "acme", "annotator"),
            "vendor": make_person(rt, "v1@vendor.test", "acme", "annotator"),
            "b_owner": make_person(rt, "owner@globex.test", "globex", "owner"),
            "b_annotator": make_person(rt, "ann@globex.test", "globex", "annotator"),
        }
        member = make_person(rt, "target@acme.test", "acme", "annotator")
        own = people["owner"].headers
        p1 = _ok(
            c.post(
                "/api/v1/projects",
                json={"name": "CANARY-A-P1", "description": "CANARY-A-P1 text", "schema": IMAGE_SCHEMA},
                headers=own,
            ),
            201,
        )["id"]
        _ok(c.post(f"/api/v1/projects/{p1}/items", content=_zip("CANARY-A-P1", 6), headers=own), 201)
        p2 = _ok(
            c.post("/api/v1/projects", json={"name": "CANARY-A-P2", "schema": IMAGE_SCHEMA}, headers=own), 201
        )["id"]
        _ok(c.post(f"/api/v1/projects/{p2}/items", content=_zip("CANARY-A-P2", 1), headers=own), 201)
        vendor = people["vendor"]
        _ok(c.patch(f"/api/v1/members/{vendor.user_id}", json={"projects": [p2]}, headers=own))
        # The annotator labels one task, then holds a live lease on another.
        ann = people["annotator"].headers
        h = _ok(c.post(f"/api/v1/projects/{p1}/next", headers=ann))
        done = _ok(
            c.post(
                f"/api/v1/tasks/{h['task']['id']}/annotations",
                json={"answer": {"label": "pos"}, "lease_id": h["lease"]["id"], "idempotency_key": "seed"},
                headers=ann,
            ),
            201,
        )
        held = _ok(c.post(f"/api/v1/projects/{p1}/next", headers=ann))
        task, item = held["task"]["id"], held["task"]["item_id"]
        for who in ("owner", "manager", "reviewer", "annotator"):
            _ok(
                c.put(
                    f"/api/v1/tasks/{task}/draft",
                    json={"answer": {"label": "pos"}},
                    headers=people[who].headers,
                ),
                204,
            )
        rows = _ok(c.get(f"/api/v1/projects/{p1}/items", headers=own))
        spare = [r for r in rows if r["id"] not in (item, h["task"]["item_id"])]
        trashed, other = spare[0], spare[1]
        _ok(c.post("/api/v1/items/delete", json={"ids": [trashed["id"]]}, headers=own))
        token = _ok(c.post("/api/v1/tokens", json={"name": "extra"}, headers=own), 201)["id"]
        with rt.db.session() as s:
            job = job_queue.enqueue(
                s,
                workspace_id=people["owner"].workspace_id,
                project_id=p1,
                kind="import",
                params={"path": "/nonexistent/CANARY-A-job", "reader": "jsonl"},
                created_by=people["owner"].user_id,
                now=utcnow(),
            )
            job_id = job.id
        # A's trash holds a project and an annotation too (P2's one task, labeled by the owner).
        p3 = _ok(
            c.post("/api/v1/projects", json={"name": "CANARY-A-P3", "schema": IMAGE_SCHEMA}, headers=own), 201
        )
        _ok(c.delete(f"/api/v1/projects/{p3['id']}", headers=own), 204)
        h2 = _ok(c.post(f"/api/v1/projects/{p2}/next", headers=own))
        gone = _ok(
            c.post(
                f"/api/v1/tasks/{h2['task']['id']}/annotations",
                json={"answer": {"label": "neg"}, "lease_id": h2["lease"]["id"], "idempotency_key": "gone"},
                headers=own,
            ),
            201,
        )
        _ok(c.delete(f"/api/v1/annotations/{gone['id']}", headers=own), 204)
        # B has work of its own, so its lists are not trivially empty: two items, one of them
        # leased to B's annotator.
        b_own = people["b_owner"].headers
        pb = _ok(
            c.post("/api/v1/projects", json={"name": "B-project", "schema": TEXT_SCHEMA}, headers=b_own), 201
        )["id"]
        _ok(c.post(f"/api/v1/projects/{pb}/items", json=[{"text": "b"}, {"text": "b2"}], headers=b_own), 201)
        b_held = _ok(c.post(f"/api/v1/projects/{pb}/next", headers=people["b_annotator"].headers))
        b_free = [
            r
            for r in _ok(c.get(f"/api/v1/projects/{pb}/items", headers=b_own))
            if r["task_id"] != b_held["task"]["id"]
        ]
        ids = {
            "project": p1,
            "task": task,
            "task_done": h["task"]["id"],
            "lease": held["lease"]["id"],
            "annotation": done["id"],
            "item": item,
            "job": job_id,
            "token": token,
            "member": member.user_id,
            "trashed": trashed["id"],
            "trashed_project": p3["id"],
            "trashed_annotation": gone["id"],
            "a_user": people["annotator"].user_id,
            "b_project": pb,
            "b_item": b_free[0]["id"],
            "b_task": b_held["task"]["id"],
            "b_lease": b_held["lease"]["id"],
            "b_member": people["b_annotator"].user_id,
        }
        return World(people, ids, other["id"], other["task_id"])

    def digest(self) -> str:
        """A hash of every row of the state tables and of the stored files' names."""
        h = hashlib.sha256()
        with self.rt.db.engine.connect() as conn:
            for name in self.state_tables:
                for row in conn.execute(text(f"SELECT * FROM {name} ORDER BY 1")):
                    h.update(repr(tuple(row)).encode())
        root = self.rt.settings.blob_dir
        if root.exists():
            for p in sorted(root.rglob("*")):
                h.update(str(p.relative_to(root)).encode())
        return h.hexdigest()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    database_url = ""
    if request.param == "postgresql":
        database_url = request.getfixturevalue("pg_database")
        empty_pg(database_url)
    data = tmp_path_factory.mktemp(f"matrix-{request.param}")
    rt = open_runtime(load_settings(env={}, data_dir=data, database_url=database_url, job_threads=0))
    owner = rt
    if request.param == "postgresql":
        # The app connects as a role row security applies to (Z-08): the matrix holds through it.
        settings = load_settings(
            env={}, data_dir=data, database_url=app_role_url(database_url), job_threads=0
        )
        rt = open_runtime(settings, migrate=False)
    lab = Lab(rt)
    lab.admin = owner.db.engine
    yield lab
    lab.client.close()
    rt.db.dispose()
    owner.db.dispose()
    actor_cache.clear()


# --- building a call ---------------------------------------------------------------------------


def _resolve(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:] in ids:
        return ids[value[1:]]
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    return value


def _call(lab: Lab, method: str, template: str, row: Row, actor: str, ids: dict[str, int]) -> Any:
    params = {**{k: v for k, v in DEFAULT_PARAMS.items() if "{" + k + "}" in template}, **row.params}
    path = template
    for name, value in params.items():
        path = path.replace("{" + name + "}", str(_resolve(value, ids)))
    assert "{" not in path, f"no fixture for a parameter of {template}"
    world = lab.fresh()
    headers = world.people[actor].headers if actor != "anon" else {}
    if row.body == "$zip":
        return lab.client.request(method, path, content=_zip("matrix", 1), headers=headers)
    if row.body is None:
        return lab.client.request(method, path, headers=headers)
    return lab.client.request(method, path, json=_resolve(row.body, ids), headers=headers)


def _used(template: str, row: Row) -> set[str]:
    """The $fixtures a row's path and body refer to."""
    params = {**{k: v for k, v in DEFAULT_PARAMS.items() if "{" + k + "}" in template}, **row.params}
    found = {v[1:] for v in params.values() if v.startswith("$")}
    found |= set(re.findall(r"\$([a-z_]+)", orjson.dumps(row.body).decode())) - {"zip"}
    return found


def _normal(r: Any, values: list[int]) -> tuple[int, bytes, list[tuple[str, str]]]:
    body = r.content
    for v in sorted(values, key=lambda x: -len(str(x))):
        body = re.sub(rb"(?<!\d)" + str(v).encode() + rb"(?!\d)", b"<id>", body)
    headers = sorted((k, v) for k, v in r.headers.items() if k.lower() not in ("date", "content-length"))
    return r.status_code, body, headers


def run_cell(lab: Lab, method: str, template: str, actor: str) -> None:
    row = MATRIX[(method, template)]
    expected = row.expect[actor]
    world = lab.fresh()
    before = lab.digest()
    r = _call(lab, method, template, row, actor, world.ids)
    after = lab.digest()
    if after != before:
        lab.dirty = True
    where = f"{method} {template} as {actor}"
    assert r.status_code == expected, f"{where}: expected {expected}, got {r.status_code} {r.text[:300]}"
    if expected >= 400:
        assert after == before, f"{where}: a denied call ({expected}) changed stored state"
    if actor in ("anon", "b_owner", "b_annotator"):
        for mark in A_MARKS:
            assert mark not in r.content, f"{where}: the response carries A's {mark!r}"
    if actor == "vendor":
        assert P_MARK not in r.content, f"{where}: the vendor sees project P ({P_MARK!r})"
    used = _used(template, row)
    if used and (expected == 404 or (expected >= 400 and actor in ("vendor", "b_owner", "b_annotator"))):
        # Existence is no oracle: the same call with ids that never existed answers the same bytes.
        ghost = {k: (GHOST_BASE + n if k in used else v) for n, (k, v) in enumerate(world.ids.items())}
        g = _call(lab, method, template, row, actor, ghost)
        real = _normal(r, [world.ids[k] for k in used])
        fake = _normal(g, [ghost[k] for k in used])
        assert real == fake, f"{where}: answer differs from the one for a missing id:\n{real}\n{fake}"


# --- the cells, grouped by what they prove ------------------------------------------------------

# Rows the server gets wrong, as strict xfails (fixed: items/delete for a vendor, Z-04 account takeover).
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


def _cells(actors: tuple[str, ...]) -> list[Any]:
    out = []
    for (method, template), _row in MATRIX.items():
        for actor in actors:
            marks = []
            bug = KNOWN_BUGS.get((method, template, actor))
            if bug:
                marks.append(pytest.mark.xfail(strict=True, reason=f"BUG: {bug}"))
            out.append(pytest.param(method, template, actor, id=f"{method} {template} {actor}", marks=marks))
    return out


@pytest.mark.parametrize(("method", "template", "actor"), _cells(("anon",)))
def test_A_01_anonymous_calls_are_refused(lab: Lab, method: str, template: str, actor: str) -> None:
    run_cell(lab, method, template, actor)


@pytest.mark.parametrize(("method", "template", "actor"), _cells(("b_owner", "b_annotator")))
def test_Z_01_other_workspace_sees_nothing(lab: Lab, method: str, template: str, actor: str) -> None:
    run_cell(lab, method, template, actor)


@pytest.mark.parametrize(("method", "template", "actor"), _cells(("vendor",)))
def test_Z_03_vendor_sees_only_assigned_project(lab: Lab, method: str, template: str, actor: str) -> None:
    run_cell(lab, method, template, actor)


@pytest.mark.parametrize(
    ("method", "template", "actor"), _cells(("owner", "manager", "reviewer", "annotator"))
)
def test_Z_05_role_boundaries(lab: Lab, method: str, template: str, actor: str) -> None:
    run_cell(lab, method, template, actor)


def _inventory(app: Any) -> set[tuple[str, str]]:
    try:  # FastAPI >= 0.16x includes routers lazily; this walks them.
        from fastapi.routing import iter_route_contexts

        routes = [(c.original_route, c.path) for c in iter_route_contexts(app.routes)]
    except ImportError:
        routes = [(r, getattr(r, "path", None)) for r in app.routes]
    out = set()
    for route, path in routes:
        if not isinstance(route, APIRoute) or not path or not path.startswith("/api/v1"):
            continue
        if path.startswith(EXCLUDED_PATHS):
            continue
        out |= {(m, path) for m in route.methods if m != "HEAD"}
    return out


def test_A_01_every_route_has_matrix_rows(lab: Lab) -> None:
    """A new route without rows in tests/security/matrix.py fails here, by name."""
    inventory = _inventory(lab.app)
    assert len(inventory) > 30  # the walk found the routers
    missing = sorted(inventory - set(MATRIX))
    stale = sorted(set(MATRIX) - inventory)
    assert not missing, f"routes without a row in tests/security/matrix.py: {missing}"
    assert not stale, f"rows for routes that no longer exist: {stale}"
    for key, row in MATRIX.items():
        assert set(row.expect) == set(ACTORS), key
        if not row.public:
            assert row.expect["anon"] == 401, f"{key} answers without a token but is not marked public"


def test_Z_03_item_file_needs_a_live_lease(lab: Lab) -> None:
    """An annotator reads an item's file only while holding a live lease on its task."""
    world = lab.fresh()
    ann = world.people["annotator"].headers
    c = lab.client
    url = "/api/v1/items/{}/files/image"
    assert c.get(url.format(world.ids["item"]), headers=ann).status_code == 200
    other = c.get(url.format(world.other_item), headers=ann)
    ghost = c.get(url.format(GHOST_BASE), headers=ann)
    assert other.status_code == ghost.status_code == 404
    assert other.content.replace(str(world.other_item).encode(), b"N") == ghost.content.replace(
        str(GHOST_BASE).encode(), b"N"
    )
    assert c.post(f"/api/v1/leases/{world.ids['lease']}/release", headers=ann).status_code == 204
    lab.dirty = True
    assert c.get(url.format(world.ids["item"]), headers=ann).status_code == 404
    # A reviewer needs no lease.
    assert c.get(url.format(world.other_item), headers=world.people["reviewer"].headers).status_code == 200


def test_Z_09_removed_member_loses_access(lab: Lab) -> None:
    """A removed annotator's token stops working for A at once (their tokens answer 401)."""
    world = lab.fresh()
    lab.dirty = True
    ann = world.people["annotator"]
    c = lab.client
    assert c.get(f"/api/v1/projects/{world.ids['project']}", headers=ann.headers).status_code == 200
    r = c.delete(f"/api/v1/members/{ann.user_id}", headers=world.people["owner"].headers)
    assert r.status_code == 204
    assert c.get(f"/api/v1/projects/{world.ids['project']}", headers=ann.headers).status_code == 401
    assert c.get(f"/api/v1/annotations/{world.ids['annotation']}", headers=ann.headers).status_code == 401


def test_Z_04_foreign_owner_cannot_set_a_members_password(lab: Lab) -> None:
    world = lab.fresh()
    lab.dirty = True
    c = lab.client
    r = c.post(
        "/api/v1/members",
        json={"email": "owner@acme.test", "role": "annotator", "password": "chosen-by-b-owner"},
        headers=world.people["b_owner"].headers,
    )
    assert r.status_code in (201, 404, 409, 422)
    login = c.post(
        "/api/v1/auth/login",
        json={"email": "owner@acme.test", "password": "chosen-by-b-owner", "workspace": "acme"},
    )
    assert login.status_code == 401, f"B's owner logged in to A as A's owner: {login.text}"


# --- mixed ids: B's own objects with one of A's ----------------------------------------------

_FIXTURE = re.compile(r"\$([a-z_]+)")


def _cross_call(lab: Lab, case: Cross, ids: dict[str, int]) -> Any:
    path = _FIXTURE.sub(lambda m: str(ids[m.group(1)]), case.path)
    headers = lab.fresh().people[case.actor].headers
    body = None if case.body is None else _resolve(case.body, ids)
    return lab.client.request(case.method, path, json=body, headers=headers)


@pytest.mark.parametrize("case", CROSS, ids=[f"{c.actor} {c.method} {c.path}" for c in CROSS])
def test_Z_01_mixed_ids_act_as_absent(lab: Lab, case: Cross) -> None:
    """B's caller names B's own objects together with one of A's (path, body or query): the
    answer is the one for an id that never existed, and nothing changes (B's half included)."""
    world = lab.fresh()
    before = lab.digest()
    r = _cross_call(lab, case, world.ids)
    after = lab.digest()
    lab.dirty = lab.dirty or after != before
    where = f"{case.actor} {case.method} {case.path}"
    assert r.status_code == case.expect, (
        f"{where}: expected {case.expect}, got {r.status_code} {r.text[:300]}"
    )
    assert after == before, f"{where}: the call changed stored state"
    for mark in A_MARKS:
        assert mark not in r.content, f"{where}: the response carries A's {mark!r}"
    theirs = {
        k
        for k in _FIXTURE.findall(f"{case.path} {orjson.dumps(case.body).decode()}")
        if not k.startswith("b_")
    }
    assert theirs, f"{where}: names no object of A"
    ghost = {k: (GHOST_BASE + n if k in theirs else v) for n, (k, v) in enumerate(world.ids.items())}
    g = _cross_call(lab, case, ghost)
    real = _normal(r, [world.ids[k] for k in theirs])
    fake = _normal(g, [ghost[k] for k in theirs])
    assert real == fake, f"{where}: answer differs from the one for a missing id:\n{real}\n{fake}"


def test_Z_01_a_blob_of_another_workspace_is_not_served(lab: Lab) -> None:
    """An item of B whose field names one of A's stored files by its SHA-256 (a JSON import may
    carry a file reference) gets the same 404 as one naming a file that was never stored: files
    are kept and looked up per workspace."""
    world = lab.fresh()
    lab.dirty = True
    with lab.admin.connect() as conn:
        sha = conn.execute(
            text("SELECT sha256 FROM blobs WHERE workspace_id = :w LIMIT 1"),
            {"w": world.people["owner"].workspace_id},
        ).scalar_one()
    b = world.people["b_owner"].headers
    c = lab.client
    pb = world.ids["b_project"]
    answers = []
    for name in (sha, "0" * 64):
        ref = {"blob": name, "name": "x.png", "media_type": "image/png"}
        _ok(c.post(f"/api/v1/projects/{pb}/items", json=[{"text": name, "image": ref}], headers=b), 201)
        item = next(
            r for r in _ok(c.get(f"/api/v1/projects/{pb}/items", headers=b)) if r["data"]["text"] == name
        )
        r = c.get(f"/api/v1/items/{item['id']}/files/image", headers=b)
        answers.append(_normal(r, [item["id"]]))
    assert answers[0][0] == 404, answers[0]
    assert answers[0] == answers[1]
