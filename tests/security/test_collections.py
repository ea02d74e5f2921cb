"""Z-02, Z-06, Z-07, I-15, R-03: lists, totals, jobs and fields never cross a tenant or a role.

One world per test on SQLite and PostgreSQL: workspaces A (owner, manager, reviewer, two
annotators) and B (owner, annotator), each with a project of items, labeled tasks, a gold task, a
trashed item, a pause and an import job.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, text

from labelhouse.api.app import create_app
from labelhouse.api.models import _Body
from labelhouse.runtime import Runtime
from tests.conftest import Person, make_person

SCHEMA = {"controls": [{"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]}]}
ITEMS = 40


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


def _seed(c: TestClient, rt: Runtime, ws: str, mark: str) -> dict[str, Any]:
    """One workspace's world; every text holds ``mark``."""
    people = {
        role: make_person(rt, f"{role}-{mark}@{ws}.test", ws, role)
        for role in ("owner", "manager", "reviewer", "annotator")
    }
    people["annotator2"] = make_person(rt, f"annotator2-{mark}@{ws}.test", ws, "annotator")
    own = people["owner"].headers
    pid = _ok(
        c.post("/api/v1/projects", json={"name": f"{mark} project", "schema": SCHEMA}, headers=own), 201
    )["id"]
    rows = [{"text": f"{mark} item {i}"} for i in range(ITEMS)]
    rows.append({"data": {"text": f"{mark} gold"}, "gold": {"label": "neg"}})
    _ok(c.post(f"/api/v1/projects/{pid}/items", json=rows, headers=own), 201)
    for who in ("annotator", "annotator2"):
        for _ in range(3):
            h = _ok(c.post(f"/api/v1/projects/{pid}/next", headers=people[who].headers))
            _ok(
                c.post(
                    f"/api/v1/tasks/{h['task']['id']}/annotations",
                    json={
                        "answer": {"label": "pos"},
                        "lease_id": h["lease"]["id"],
                        "idempotency_key": str(uuid.uuid4()),
                    },
                    headers=people[who].headers,
                ),
                201,
            )
    items = _ok(c.get(f"/api/v1/projects/{pid}/items?limit=1000", headers=own))
    _ok(c.post("/api/v1/items/delete", json={"ids": [items[-2]["id"]]}, headers=own))
    _ok(
        c.post(
            f"/api/v1/projects/{pid}/pauses",
            json={"user_id": people["annotator2"].user_id, "reason": f"{mark} pause"},
            headers=own,
        ),
        201,
    )
    return {"people": people, "project": pid, "items": items}


def _world(rt: Runtime) -> tuple[TestClient, dict[str, Any], dict[str, Any]]:
    c = TestClient(create_app(rt, run_jobs=False))
    a = _seed(c, rt, "acme", "CANARY-A")
    b = _seed(c, rt, "globex", "CANARY-B")
    return c, a, b


def _views(c: TestClient, w: dict[str, Any]) -> dict[str, bytes]:
    """Every list, total and aggregate each of the workspace's people can read."""
    pid = w["project"]
    task = w["items"][0]["task_id"]
    gets = [
        "/api/v1/projects",
        f"/api/v1/projects/{pid}",
        f"/api/v1/projects/{pid}/items?limit=1000",
        f"/api/v1/projects/{pid}/items?limit=1000&after=0",
        f"/api/v1/projects/{pid}/stats",
        f"/api/v1/projects/{pid}/quality",
        f"/api/v1/projects/{pid}/pauses?lifted=true",
        f"/api/v1/projects/{pid}/export?format=jsonl",
        f"/api/v1/projects/{pid}/export?format=csv",
        f"/api/v1/tasks/{task}/annotations",
        f"/api/v1/tasks/{task}/reviews",
        "/api/v1/members",
        "/api/v1/trash",
        "/api/v1/audit?limit=1000",
        "/api/v1/tokens",
        "/api/v1/me",
    ]
    out: dict[str, bytes] = {}
    for role, person in w["people"].items():
        if role == "reviewer":
            continue  # between manager and annotator: nothing either does not cover
        for path in gets:
            r = c.get(path, headers=person.headers)
            out[f"{role} {path}"] = f"{r.status_code} ".encode() + r.content
    return out


def _delete_workspace(rt: Runtime, workspace_id: int) -> None:
    """Remove every row of one workspace, bypassing the product (the world 'where A never was')."""
    meta = MetaData()
    meta.reflect(rt.db.engine)
    with rt.db.engine.begin() as conn:
        for table in reversed(meta.sorted_tables):
            if "workspace_id" in table.c:
                conn.execute(table.delete().where(table.c.workspace_id == workspace_id))
        conn.execute(text("DELETE FROM workspaces WHERE id = :w"), {"w": workspace_id})


def test_Z_02_lists_totals_and_aggregates_are_those_of_a_world_without_the_other_tenant(rt: Runtime) -> None:
    c, a, b = _world(rt)
    with_a = _views(c, b)
    assert not [k for k, v in with_a.items() if b"CANARY-A" in v or b"@acme.test" in v]
    assert all(v.startswith((b"200 ", b"403 ")) for v in with_a.values())  # real reads, not just denials
    stats = orjson.loads(with_a[f"owner /api/v1/projects/{b['project']}/stats"][4:])
    assert stats  # the totals exist and will be compared below
    _delete_workspace(rt, a["people"]["owner"].workspace_id)
    without_a = _views(c, b)
    changed = [k for k in with_a if with_a[k] != without_a[k] and "/audit" not in k]
    assert not changed, changed[:3]
    for key in (k for k in with_a if "/audit" in k and with_a[k].startswith(b"200 ")):
        # B's own reads (exports) append to B's chain meanwhile: the earlier events are unchanged.
        before, after = orjson.loads(with_a[key][4:]), orjson.loads(without_a[key][4:])
        assert after[: len(before)] == before
    # A cursor (an id of A's) in B's list gives B's rows only, as any other number would.
    r = c.get(
        f"/api/v1/projects/{b['project']}/items?after={a['items'][0]['id']}&limit=1000",
        headers=b["people"]["owner"].headers,
    )
    assert r.status_code in (200, 404) and b"CANARY-A" not in r.content


def test_Z_06_jobs_of_another_user_or_workspace_are_not_found(rt: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from labelhouse.api.routes import items as item_routes

    c, a, b = _world(rt)
    own = a["people"]["owner"].headers
    # A body naming many URLs becomes a job; pretend this one does (no job thread runs here).
    big = b"\n".join(orjson.dumps({"text": f"CANARY-A job row {i}"}) for i in range(50))
    monkeypatch.setattr(item_routes, "_many_fetches", lambda reader, data: True)
    job = _ok(c.post(f"/api/v1/projects/{a['project']}/items?format=jsonl", content=big, headers=own), 202)
    ghost = job["id"] + 10_000
    for who, person in [
        *((f"B {k}", p) for k, p in b["people"].items()),
        ("A annotator", a["people"]["annotator"]),
    ]:
        r = c.get(f"/api/v1/jobs/{job['id']}", headers=person.headers)
        g = c.get(f"/api/v1/jobs/{ghost}", headers=person.headers)
        assert r.status_code == g.status_code and r.status_code in (403, 404), who
        assert r.content.replace(str(job["id"]).encode(), b"#") == g.content.replace(
            str(ghost).encode(), b"#"
        )
        assert b"CANARY-A" not in r.content
    # The job's spooled file lives under the data folder by a server-made name, not reachable by URL.
    assert _ok(c.get(f"/api/v1/jobs/{job['id']}", headers=own))["state"] == "queued"
    spooled = list(rt.settings.upload_dir.iterdir())
    assert len(spooled) == 1 and re.fullmatch(r"[0-9a-f]{32}\.upload", spooled[0].name)
    r = c.get(f"/api/v1/{spooled[0].name}", headers=own)
    assert r.status_code == 404
    # B cannot start a job on A's project: no job row is created.
    with rt.db.session(write=False) as s:
        before = s.execute(text("SELECT COUNT(*) FROM jobs")).scalar_one()
    r = c.post(
        f"/api/v1/projects/{a['project']}/items?format=jsonl",
        content=big,
        headers=b["people"]["owner"].headers,
    )
    assert r.status_code == 404
    with rt.db.session(write=False) as s:
        assert s.execute(text("SELECT COUNT(*) FROM jobs")).scalar_one() == before
    assert len(list(rt.settings.upload_dir.iterdir())) == 1  # the refused body was not left behind


# Keys that would carry a secret (the audit chain's own "hash"/"prev_hash" are public by design).
SECRET_KEYS = re.compile(rb'"(password\w*|\w*token_hash|\w*secret\w*|\w*api_key)"\s*:')


def test_Z_07_no_secret_or_hash_is_ever_serialized_and_annotators_see_no_other_people(rt: Runtime) -> None:
    c, a, b = _world(rt)
    views = _views(c, a)
    with rt.db.session(write=False) as s:
        stored = [str(v) for (v,) in s.execute(text("SELECT password_hash FROM users")) if v]
        stored += [str(v) for (v,) in s.execute(text("SELECT token_hash FROM tokens"))]
    assert stored
    for key, body in views.items():
        assert not SECRET_KEYS.search(body), key
        assert not any(h.encode() in body for h in stored), key
    # Annotators see no other user's e-mail, nor which task is gold, nor the gold answer.
    for role in ("annotator", "annotator2"):
        me = a["people"][role].email.encode()
        for key, body in views.items():
            if key.startswith(f"{role} "):
                assert not re.search(rb"[\w.-]+@acme\.test", body.replace(me, b"")), key
                assert not re.search(rb'"(is_gold|gold)"\s*:', body), key
    # Responses echo no field the caller did not ask to set; unknown fields are refused (mass assignment).
    own = a["people"]["owner"].headers
    pid = a["project"]
    for body in (
        {"name": "x", "workspace_id": b["people"]["owner"].workspace_id},
        {"id": 1},
        {"created_at": "2020-01-01T00:00:00Z"},
    ):
        r = c.patch(f"/api/v1/projects/{pid}", json=body, headers=own)
        assert r.status_code == 422 and "extra" in r.text.lower() or "not permitted" in r.text.lower(), r.text
    r = c.patch(
        f"/api/v1/members/{a['people']['annotator'].user_id}",
        json={"role": "annotator", "email": "x@evil.test", "is_superuser": True},
        headers=own,
    )
    assert r.status_code == 422
    r = c.post("/api/v1/tokens", json={"name": "t", "user_id": a["people"]["manager"].user_id}, headers=own)
    assert r.status_code == 422


def test_Z_07_every_request_body_refuses_unknown_fields() -> None:
    """Mass assignment by construction: every body model of the API forbids extra fields."""
    import labelhouse.api.models as models

    bodies = [
        cls
        for cls in vars(models).values()
        if isinstance(cls, type) and cls.__name__.endswith(("In", "Patch"))
    ]
    assert len(bodies) >= 10
    assert all(issubclass(cls, _Body) and cls.model_config.get("extra") == "forbid" for cls in bodies), [
        cls.__name__ for cls in bodies if not issubclass(cls, _Body)
    ]


INJECTIONS = [
    "after=1;DROP TABLE tasks",
    "after=(CASE WHEN 1=1 THEN 1 ELSE 0 END)",
    "limit=1 OR 1=1",
    "after=0x10",
    "after=1e3",
    "limit=%27%20OR%201=1%20--",
    "after=-1%20UNION%20SELECT%201",
]


def test_I_15_list_parameters_are_typed_values_never_sql(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    own = owner.headers
    pid = _ok(client.post("/api/v1/projects", json={"name": "p", "schema": SCHEMA}, headers=own), 201)["id"]
    _ok(
        client.post(f"/api/v1/projects/{pid}/items", json=[{"text": str(i)} for i in range(5)], headers=own),
        201,
    )
    baseline = client.get(f"/api/v1/projects/{pid}/items", headers=own).content
    for query in INJECTIONS:
        r = client.get(f"/api/v1/projects/{pid}/items?{query}", headers=own)
        assert r.status_code == 422 and r.json()["error"]["field"] in ("after", "limit"), r.text
        r = client.get(f"/api/v1/audit?{query}", headers=own)
        assert r.status_code == 422 and r.json()["error"]["field"] in ("after", "limit"), r.text
        for path in (
            f"/api/v1/projects/{pid}/quality?method={query}",
            f"/api/v1/projects/{pid}/export?format={query}",
        ):
            r = client.get(path, headers=own)
            # A name outside the fixed list: refused, naming the allowed ones.
            assert r.status_code in (404, 422) and r.json()["error"]["field"] in ("method", "format"), (
                path,
                r.text,
            )
    # The tables are all still there, and the list reads as before.
    assert client.get(f"/api/v1/projects/{pid}/items", headers=own).content == baseline
    with rt.db.session(write=False) as s:
        assert s.execute(text("SELECT COUNT(*) FROM tasks")).scalar_one() == 5


def test_I_15_unknown_methods_and_formats_name_the_allowed_ones(client: TestClient, owner: Person) -> None:
    pid = _ok(
        client.post("/api/v1/projects", json={"name": "p", "schema": SCHEMA}, headers=owner.headers), 201
    )["id"]
    r = client.get(f"/api/v1/projects/{pid}/quality?method=$where", headers=owner.headers)
    assert r.status_code in (404, 422) and all(m in r.text for m in ("ds", "ds_map", "glad", "mv"))
    r = client.get(f"/api/v1/projects/{pid}/export?format=../../etc", headers=owner.headers)
    assert r.status_code == 422 and "jsonl" in r.text


ABSURD = ["limit=1000000000", "limit=-1", "limit=0", "after=1000000000000000000000", "after=-5", "limit=abc"]


def test_R_03_page_sizes_are_capped_and_absurd_values_refused(client: TestClient, owner: Person) -> None:
    pid = _ok(
        client.post("/api/v1/projects", json={"name": "p", "schema": SCHEMA}, headers=owner.headers), 201
    )["id"]
    for query in ABSURD:
        for path in (f"/api/v1/projects/{pid}/items?{query}", f"/api/v1/audit?{query}"):
            r = client.get(path, headers=owner.headers)
            assert r.status_code == 422 and r.json()["error"]["field"] in ("after", "limit"), (path, r.text)


def test_R_03_the_largest_page_is_the_documented_maximum(client: TestClient, owner: Person) -> None:
    pid = _ok(
        client.post("/api/v1/projects", json={"name": "p", "schema": SCHEMA}, headers=owner.headers), 201
    )["id"]
    _ok(
        client.post(
            f"/api/v1/projects/{pid}/items",
            json=[{"text": str(i)} for i in range(1005)],
            headers=owner.headers,
        ),
        201,
    )
    assert len(_ok(client.get(f"/api/v1/projects/{pid}/items?limit=1000", headers=owner.headers))) == 1000
    assert len(_ok(client.get("/api/v1/audit?limit=1000", headers=owner.headers))) <= 1000
