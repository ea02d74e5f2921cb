"""Roles, project restriction, trash, jobs, exports in every format, limits."""

from __future__ import annotations

import io
import re
import time
import zipfile

import orjson
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import CHOICES_SCHEMA, Person, make_person

PREF_SCHEMA = {
    "controls": [
        {"name": "pref", "type": "preference", "over": "responses", "prompt": "prompt"},
        {"name": "rank", "type": "ranking", "over": "responses", "prompt": "prompt", "required": False},
    ]
}
SFT_SCHEMA = {"controls": [{"name": "reply", "type": "text", "over": "prompt"}]}
BOX_SCHEMA = {"controls": [{"name": "objects", "type": "boxes", "over": "image", "labels": ["cat", "dog"]}]}


def _project(c: TestClient, who: Person, schema: dict = CHOICES_SCHEMA, **extra) -> int:  # type: ignore[type-arg]
    r = c.post("/api/v1/projects", json={"name": "p", "schema": schema, **extra}, headers=who.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _label_all(c: TestClient, who: Person, pid: int, answer: dict) -> int:  # type: ignore[type-arg]
    n = 0
    while (r := c.post(f"/api/v1/projects/{pid}/next", headers=who.headers)).status_code == 200:
        h = r.json()
        s = c.post(
            f"/api/v1/tasks/{h['task']['id']}/annotations",
            json={"answer": answer, "lease_id": h["lease"]["id"], "idempotency_key": f"k{h['lease']['id']}"},
            headers=who.headers,
        )
        assert s.status_code == 201, s.text
        n += 1
    return n


def test_roles(client: TestClient, owner: Person, rt) -> None:
    annotator = make_person(rt, "ann@acme.test", role="annotator")
    manager = make_person(rt, "mgr@acme.test", role="manager")
    r = client.post(
        "/api/v1/projects", json={"name": "x", "schema": CHOICES_SCHEMA}, headers=annotator.headers
    )
    assert r.status_code == 403 and "manager" in r.json()["error"]["message"]
    pid = _project(client, manager)
    assert client.get(f"/api/v1/projects/{pid}/export", headers=annotator.headers).status_code == 403
    assert client.get("/api/v1/members", headers=annotator.headers).status_code == 403
    # a manager grants only roles below their own
    r = client.post(
        "/api/v1/members", json={"email": "x@acme.test", "role": "manager"}, headers=manager.headers
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/members", json={"email": "x@acme.test", "role": "reviewer"}, headers=manager.headers
    )
    assert r.status_code == 201


def test_vendor_annotator_sees_only_assigned_projects(client: TestClient, owner: Person, rt) -> None:
    mine = _project(client, owner)
    theirs = _project(client, owner)
    vendor = make_person(rt, "v@vendor.test", role="annotator")
    r = client.patch(f"/api/v1/members/{vendor.user_id}", json={"projects": [theirs]}, headers=owner.headers)
    assert r.status_code == 200 and r.json()["projects"] == [theirs]
    listed = [p["id"] for p in client.get("/api/v1/projects", headers=vendor.headers).json()]
    assert listed == [theirs]
    hidden = client.post(f"/api/v1/projects/{mine}/next", headers=vendor.headers)
    missing = client.post("/api/v1/projects/424242/next", headers=vendor.headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"].replace(str(mine), "N") == missing.json()["error"][
        "message"
    ].replace("424242", "N")


def test_trash_restore_purge(client: TestClient, owner: Person) -> None:
    pid = _project(client, owner)
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "a"}, {"text": "b"}], headers=owner.headers)
    assert _label_all(client, owner, pid, {"label": "pos"}) == 2
    items = client.get(f"/api/v1/projects/{pid}/items", headers=owner.headers).json()
    assert (
        client.post("/api/v1/items/delete", json={"ids": [items[0]["id"]]}, headers=owner.headers).json()[
            "trashed"
        ]
        == 1
    )
    assert len(client.get(f"/api/v1/projects/{pid}/export", headers=owner.headers).content.splitlines()) == 1
    assert (
        client.post(f"/api/v1/trash/item/{items[0]['id']}/restore", headers=owner.headers).status_code == 204
    )
    assert len(client.get(f"/api/v1/projects/{pid}/export", headers=owner.headers).content.splitlines()) == 2
    assert client.delete(f"/api/v1/projects/{pid}", headers=owner.headers).status_code == 204
    assert client.get(f"/api/v1/projects/{pid}", headers=owner.headers).status_code == 404
    trash = client.get("/api/v1/trash", headers=owner.headers).json()
    assert {"kind": "project", "id": pid} in [{"kind": t["kind"], "id": t["id"]} for t in trash]
    assert client.post(f"/api/v1/trash/project/{pid}/restore", headers=owner.headers).status_code == 204
    assert client.get(f"/api/v1/projects/{pid}", headers=owner.headers).status_code == 200
    client.delete(f"/api/v1/projects/{pid}", headers=owner.headers)
    assert client.delete("/api/v1/trash", headers=owner.headers).json()["purged"] >= 1
    assert client.post(f"/api/v1/trash/project/{pid}/restore", headers=owner.headers).status_code == 404


def test_annotations_in_the_trash_answer_like_missing_ones(client: TestClient, owner: Person, rt) -> None:
    """While its item or its project is in the trash, an annotation (and its task's annotation
    and review lists) answers the same 404 as an id that never existed, to its annotator and to
    the owner, and cannot be edited, reviewed or trashed; restored, it is back as it was."""
    pid = _project(client, owner)
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "a"}], headers=owner.headers)
    ann = make_person(rt, "ann@acme.test", role="annotator")
    h = client.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).json()
    task, item = h["task"]["id"], h["task"]["item_id"]
    r = client.post(
        f"/api/v1/tasks/{task}/annotations",
        json={"answer": {"label": "pos"}, "lease_id": h["lease"]["id"], "idempotency_key": "k"},
        headers=ann.headers,
    )
    annotation = r.json()["id"]
    ghost = 900_000_000

    def answers(who: Person, a: int, t: int) -> list[tuple[int, bytes]]:
        calls = [
            client.get(f"/api/v1/annotations/{a}", headers=who.headers),
            client.put(f"/api/v1/annotations/{a}", json={"answer": {"label": "neg"}}, headers=who.headers),
            client.get(f"/api/v1/tasks/{t}/annotations", headers=who.headers),
            client.get(f"/api/v1/tasks/{t}/reviews", headers=who.headers),
        ]
        if who is owner:
            calls.append(client.delete(f"/api/v1/annotations/{a}", headers=who.headers))
            calls.append(
                client.post(
                    f"/api/v1/annotations/{a}/review", json={"decision": "accept"}, headers=who.headers
                )
            )
        # the messages name the id asked for: compared with it left out
        ids = re.compile(rb"\b(%d|%d)\b" % (a, t))
        return [(x.status_code, ids.sub(b"N", x.content)) for x in calls]

    def trashed() -> None:
        for who in (ann, owner):
            got = answers(who, annotation, task)
            assert all(status == 404 for status, _ in got), got
            assert got == answers(who, ghost, ghost + 1)

    assert client.post("/api/v1/items/delete", json={"ids": [item]}, headers=owner.headers).status_code == 200
    trashed()
    assert client.post(f"/api/v1/trash/item/{item}/restore", headers=owner.headers).status_code == 204
    assert client.delete(f"/api/v1/projects/{pid}", headers=owner.headers).status_code == 204
    trashed()
    assert client.post(f"/api/v1/trash/project/{pid}/restore", headers=owner.headers).status_code == 204
    got = client.get(f"/api/v1/annotations/{annotation}", headers=ann.headers)
    assert got.status_code == 200 and got.json()["version"] == 1
    assert [a["id"] for a in client.get(f"/api/v1/tasks/{task}/annotations", headers=ann.headers).json()] == [
        annotation
    ]


def test_large_import_becomes_a_job(client: TestClient, owner: Person, rt) -> None:
    pid = _project(client, owner)
    filler = "x" * 200
    body = b"\n".join(orjson.dumps({"text": f"{i} {filler}"}) for i in range(25000)) + b"\n{broken\n"
    assert len(body) > rt.settings.inline_import_mb * 1024 * 1024
    r = client.post(f"/api/v1/projects/{pid}/items", content=body, headers=owner.headers)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    for _ in range(600):
        job = client.get(f"/api/v1/jobs/{job_id}", headers=owner.headers).json()
        if job["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert job["state"] == "succeeded", job
    assert job["result"]["created"] == 25000 and job["result"]["failed"] == 1
    assert job["result"]["errors"][0]["line"] == 25001


def test_exports_in_every_format(client: TestClient, owner: Person) -> None:
    pid = _project(client, owner)
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "=1+1"}], headers=owner.headers)
    _label_all(client, owner, pid, {"label": "neg"})
    csv = client.get(f"/api/v1/projects/{pid}/export?format=csv", headers=owner.headers)
    assert csv.status_code == 200 and "'=1+1" in csv.text  # formula neutralized

    pref = _project(client, owner, PREF_SCHEMA)
    client.post(
        f"/api/v1/projects/{pref}/items",
        json=[{"prompt": "2+2?", "responses": ["4", "5"]}],
        headers=owner.headers,
    )
    _label_all(client, owner, pref, {"pref": {"winner": "a", "strength": 2}})
    dpo = [
        orjson.loads(x)
        for x in client.get(
            f"/api/v1/projects/{pref}/export?format=dpo", headers=owner.headers
        ).content.splitlines()
    ]
    assert dpo[0]["prompt"] == "2+2?" and dpo[0]["chosen"] == "4" and dpo[0]["rejected"] == "5"

    sft = _project(client, owner, SFT_SCHEMA)
    client.post(f"/api/v1/projects/{sft}/items", json=[{"prompt": "Say hi"}], headers=owner.headers)
    _label_all(client, owner, sft, {"reply": "Hi!"})
    rows = [
        orjson.loads(x)
        for x in client.get(
            f"/api/v1/projects/{sft}/export?format=sft", headers=owner.headers
        ).content.splitlines()
    ]
    assert rows[0]["messages"][-1] == {"role": "assistant", "content": "Hi!"}

    box = _project(client, owner, BOX_SCHEMA)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        img = io.BytesIO()
        Image.new("RGB", (64, 48), "white").save(img, format="PNG")
        z.writestr("a.png", img.getvalue())
        z.writestr("notes.txt", b"not an image")
    r = client.post(f"/api/v1/projects/{box}/items", content=buf.getvalue(), headers=owner.headers)
    assert r.status_code == 201 and r.json()["created"] == 1 and r.json()["failed"] == 1, r.text
    h = client.post(f"/api/v1/projects/{box}/next", headers=owner.headers).json()
    outside = {"objects": [{"label": "cat", "x": 50, "y": 10, "w": 30, "h": 10}]}
    r = client.post(
        f"/api/v1/tasks/{h['task']['id']}/annotations",
        json={"answer": outside, "lease_id": h["lease"]["id"], "idempotency_key": "o"},
        headers=owner.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("objects")
    _label_all(client, owner, box, {"objects": [{"label": "dog", "x": 1, "y": 2, "w": 10, "h": 20}]})
    coco = client.get(f"/api/v1/projects/{box}/export?format=coco", headers=owner.headers).json()
    assert coco["annotations"][0]["bbox"] == [1, 2, 10, 20]
    assert coco["images"][0]["width"] == 64
    assert client.get(f"/api/v1/projects/{box}/export?format=nope", headers=owner.headers).status_code == 422


def test_limits_and_bad_bodies(client: TestClient, owner: Person) -> None:
    pid = _project(client, owner)
    r = client.post(f"/api/v1/projects/{pid}/items", content=b"\x00\x01garbage", headers=owner.headers)
    assert r.status_code == 422 and "format" in r.json()["error"]["message"]
    r = client.post(
        "/api/v1/projects",
        json={"name": "x", "schema": {"controls": [{"type": "choices", "name": "l"}]}},
        headers=owner.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("schema.controls[0]")
    r = client.post(
        "/api/v1/projects", json={"name": "x", "schema": CHOICES_SCHEMA, "overlap": 0}, headers=owner.headers
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "overlap"
    r = client.post(
        f"/api/v1/projects/{pid}/items",
        content=b"x",
        headers={**owner.headers, "content-length": str(10**12)},
    )
    assert r.status_code == 413


def test_token_revocation(client: TestClient, owner: Person) -> None:
    r = client.post("/api/v1/tokens", json={"name": "ci"}, headers=owner.headers)
    assert r.status_code == 201
    tok = r.json()
    h = {"Authorization": f"Bearer {tok['token']}"}
    assert client.get("/api/v1/me", headers=h).status_code == 200
    listed = client.get("/api/v1/tokens", headers=owner.headers).json()
    assert all("token" not in t for t in listed)  # shown once, never again
    assert client.delete(f"/api/v1/tokens/{tok['id']}", headers=owner.headers).status_code == 204
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_security_headers_on_every_response(client: TestClient, owner: Person) -> None:
    pid = _project(client, owner)
    for r in (
        client.get("/api/v1/health"),
        client.get(f"/api/v1/projects/{pid}", headers=owner.headers),
        client.post(f"/api/v1/projects/{pid}/next", headers=owner.headers),  # the fast lane
        client.get("/api/v1/projects/999", headers=owner.headers),  # an error
    ):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"


def test_hostile_json_gets_a_clear_4xx(client: TestClient, owner: Person) -> None:
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    h = {**owner.headers, "content-type": "application/json"}
    r = client.post("/api/v1/projects", content=deep, headers=h)
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = client.post("/api/v1/tasks/1/annotations", content=deep, headers=h)  # the fast lane
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"  # api/strictjson.py
    pid = _project(client, owner)
    r = client.post(
        f"/api/v1/projects/{pid}/items",
        content=b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}\n{oops\n",
        headers=owner.headers,
    )
    errors = r.json()["errors"]
    assert [e["line"] for e in errors] == [1, 2]
    assert all(e["message"].startswith(f"line {e['line']}: not valid JSON") for e in errors)  # said once


def test_R_01_login_is_rate_limited_uniformly(client: TestClient, rt) -> None:  # type: ignore[no-untyped-def]
    from labelhouse.services import accounts
    from labelhouse.services.clock import utcnow

    with rt.db.session() as s:
        accounts.create_user_cli(
            s,
            "limit@acme.test",
            workspace="acme",
            role="annotator",
            password="the right password",
            with_token=False,
            now=utcnow(),
        )
    wrong = {"email": "limit@acme.test", "password": "not the password"}
    assert all(client.post("/api/v1/auth/login", json=wrong).status_code == 401 for _ in range(10))
    blocked = client.post(
        "/api/v1/auth/login", json={"email": "limit@acme.test", "password": "the right password"}
    )
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many"
    assert int(blocked.headers["retry-after"]) > 0
    # an account that does not exist is limited the same way (no hint that it is missing)
    ghost = {"email": "ghost@acme.test", "password": "whatever it is"}
    assert [client.post("/api/v1/auth/login", json=ghost).status_code for _ in range(11)][-1] == 429


def test_drafts_of_a_trashed_project_answer_like_missing_ones(client: TestClient, owner: Person, rt) -> None:
    """A draft of a task whose project is in the trash can be neither saved nor read (the 404 of a
    task that never existed); restored, the draft saved before is back."""
    pid = _project(client, owner)
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "a"}], headers=owner.headers)
    ann = make_person(rt, "drafter@acme.test", role="annotator")
    task = client.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).json()["task"]["id"]
    draft = {"answer": {"label": "pos"}}
    assert client.put(f"/api/v1/tasks/{task}/draft", json=draft, headers=ann.headers).status_code == 204
    assert client.delete(f"/api/v1/projects/{pid}", headers=owner.headers).status_code == 204
    ghost = 900_000_000
    for t in (task, ghost):
        put = client.put(f"/api/v1/tasks/{t}/draft", json=draft, headers=ann.headers)
        get = client.get(f"/api/v1/tasks/{t}/draft", headers=ann.headers)
        assert (put.status_code, get.status_code) == (404, 404)
        assert put.json()["error"]["message"].replace(str(t), "N") == "task N not found"
    assert client.post(f"/api/v1/trash/project/{pid}/restore", headers=owner.headers).status_code == 204
    got = client.get(f"/api/v1/tasks/{task}/draft", headers=ann.headers)
    assert got.status_code == 200 and got.json() == draft, got.text
