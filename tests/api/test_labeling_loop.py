"""The labeling loop through the public HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import orjson
from fastapi.testclient import TestClient

from tests.conftest import CHOICES_SCHEMA, Person, make_person


def _project(client: TestClient, who: Person, overlap: int = 1, schema: dict | None = None) -> int:
    r = client.post(
        "/api/v1/projects",
        json={"name": "sentiment", "schema": schema or CHOICES_SCHEMA, "overlap": overlap},
        headers=who.headers,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_create_import_label_export(client: TestClient, owner: Person, rt) -> None:
    pid = _project(client, owner)
    body = b"\n".join(orjson.dumps({"text": f"row {i}"}) for i in range(5))
    r = client.post(f"/api/v1/projects/{pid}/items", content=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 5

    annotator = make_person(rt, "ann@acme.test", role="annotator")
    seen = []
    while True:
        r = client.post(f"/api/v1/projects/{pid}/next", headers=annotator.headers)
        if r.status_code == 204:
            break
        assert r.status_code == 200, r.text
        handout = r.json()
        assert handout["task"]["item"]["text"].startswith("row ")
        seen.append(handout["task"]["id"])
        r = client.post(
            f"/api/v1/tasks/{handout['task']['id']}/annotations",
            json={
                "answer": {"label": "pos"},
                "lease_id": handout["lease"]["id"],
                "idempotency_key": str(uuid.uuid4()),
            },
            headers=annotator.headers,
        )
        assert r.status_code == 201, r.text
    assert len(seen) == 5 == len(set(seen))

    r = client.get(f"/api/v1/projects/{pid}/export?format=jsonl", headers=owner.headers)
    assert r.status_code == 200
    lines = [orjson.loads(x) for x in r.content.splitlines() if x]
    assert len(lines) == 5
    assert all(rec["annotations"][0]["answer"] == {"label": "pos"} for rec in lines)
    assert all(rec["annotations"][0]["annotator"] == "ann@acme.test" for rec in lines)


def test_json_array_import_reports_bad_rows_and_is_idempotent(client: TestClient, owner: Person) -> None:
    pid = _project(client, owner)
    rows = [{"text": "a"}, {"nope": 1}, {"text": "b"}]
    r = client.post(f"/api/v1/projects/{pid}/items", json=rows, headers=owner.headers)
    assert r.status_code == 201
    out = r.json()
    assert (out["created"], out["failed"]) == (2, 1)
    assert out["errors"][0]["line"] == 2 and "text" in out["errors"][0]["message"]
    again = client.post(f"/api/v1/projects/{pid}/items", json=rows, headers=owner.headers).json()
    assert (again["created"], again["duplicates"]) == (0, 2)


def test_idempotent_submit_and_lease_rules(client: TestClient, owner: Person, rt) -> None:
    pid = _project(client, owner)
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "x"}], headers=owner.headers)
    a = make_person(rt, "a@acme.test", role="annotator")
    b = make_person(rt, "b@acme.test", role="annotator")
    first = client.post(f"/api/v1/projects/{pid}/next", headers=a.headers).json()
    # asking again while holding the lease returns the same lease
    assert client.post(f"/api/v1/projects/{pid}/next", headers=a.headers).json()["lease"] == first["lease"]
    # overlap 1: nobody else gets it
    assert client.post(f"/api/v1/projects/{pid}/next", headers=b.headers).status_code == 204
    task_id, lease_id = first["task"]["id"], first["lease"]["id"]
    payload = {"answer": {"label": "neg"}, "lease_id": lease_id, "idempotency_key": "k-1"}
    # only the holder may submit
    r = client.post(f"/api/v1/tasks/{task_id}/annotations", json=payload, headers=b.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # a wrong answer names the field
    bad = dict(payload, answer={"label": "maybe"}, idempotency_key="k-0")
    r = client.post(f"/api/v1/tasks/{task_id}/annotations", json=bad, headers=a.headers)
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("label")
    r1 = client.post(f"/api/v1/tasks/{task_id}/annotations", json=payload, headers=a.headers)
    r2 = client.post(f"/api/v1/tasks/{task_id}/annotations", json=payload, headers=a.headers)
    assert r1.status_code == 201 and r2.status_code == 200
    assert r1.json()["id"] == r2.json()["id"]
    anns = client.get(f"/api/v1/tasks/{task_id}/annotations", headers=owner.headers).json()
    assert len(anns) == 1


def test_other_workspace_is_not_found(client: TestClient, owner: Person, rt) -> None:
    pid = _project(client, owner)
    stranger = make_person(rt, "eve@other.test", workspace="other")
    for method, path in (
        ("get", f"/api/v1/projects/{pid}"),
        ("post", f"/api/v1/projects/{pid}/next"),
        ("get", f"/api/v1/projects/{pid}/export"),
    ):
        theirs = getattr(client, method)(path, headers=stranger.headers)
        missing = getattr(client, method)(path.replace(str(pid), "999999"), headers=stranger.headers)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["error"]["code"] == "not_found"


def test_unauthenticated(client: TestClient) -> None:
    r = client.get("/api/v1/projects")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert client.get("/api/v1/health").json()["status"] == "ok"


def test_key_reused_for_another_task_is_a_conflict(client: TestClient, owner: Person, rt) -> None:
    pid = _project(client, owner)
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "a"}, {"text": "b"}], headers=owner.headers)
    a = make_person(rt, "a@acme.test", role="annotator")
    first = client.post(f"/api/v1/projects/{pid}/next", headers=a.headers).json()
    body = {"answer": {"label": "pos"}, "lease_id": first["lease"]["id"], "idempotency_key": "same-key"}
    assert (
        client.post(
            f"/api/v1/tasks/{first['task']['id']}/annotations", json=body, headers=a.headers
        ).status_code
        == 201
    )
    second = client.post(f"/api/v1/projects/{pid}/next", headers=a.headers).json()
    reuse = dict(body, lease_id=second["lease"]["id"])
    r = client.post(f"/api/v1/tasks/{second['task']['id']}/annotations", json=reuse, headers=a.headers)
    assert r.status_code == 409 and "idempotency_key" in r.json()["error"]["message"]
    assert client.get(f"/api/v1/tasks/{second['task']['id']}/annotations", headers=owner.headers).json() == []
    fresh = dict(reuse, idempotency_key="another-key")
    assert (
        client.post(
            f"/api/v1/tasks/{second['task']['id']}/annotations", json=fresh, headers=a.headers
        ).status_code
        == 201
    )
