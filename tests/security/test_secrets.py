"""K-01, K-02, K-03, K-07: what is stored of a secret, how passwords are hashed, what reaches logs,
and signed file links."""

from __future__ import annotations

import io
import logging
import time
import zipfile
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import MetaData, select, text

from labelhouse.api.app import create_app
from labelhouse.runtime import Runtime
from labelhouse.security import logsafe, passwords, signing
from labelhouse.services import accounts
from labelhouse.services.clock import utcnow
from labelhouse.storage.tables import User
from tests.conftest import Person, make_person

PASSWORD = "CANARY-PASSWORD-correct horse"
BOX_SCHEMA = {"controls": [{"name": "objects", "type": "boxes", "over": "image", "labels": ["cat"]}]}


def _user_with_password(rt: Runtime, email: str = "pw@acme.test") -> None:
    with rt.db.session() as s:
        accounts.create_user_cli(
            s, email, workspace="acme", role="owner", password=PASSWORD, with_token=False, now=utcnow()
        )


def _all_strings(rt: Runtime) -> list[str]:
    meta = MetaData()
    meta.reflect(rt.db.engine)
    out: list[str] = []
    with rt.db.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(table.select()):
                out += [str(v) for v in row if isinstance(v, str) and len(v) >= 8]
    return out


def test_K_01_no_stored_value_is_a_credential(client: TestClient, rt: Runtime) -> None:
    _user_with_password(rt)
    login = client.post("/api/v1/auth/login", json={"email": "pw@acme.test", "password": PASSWORD}).json()
    h = {"Authorization": f"Bearer {login['token']}"}
    made = client.post("/api/v1/tokens", json={"name": "ci"}, headers=h).json()["token"]
    session = client.post("/api/v1/auth/session", json={"email": "pw@acme.test", "password": PASSWORD})
    cookie = session.cookies.get("lh_session")
    assert cookie
    secrets = [login["token"], made, cookie]
    stored = _all_strings(rt)
    assert not [v for v in stored for secret in secrets if secret in v]  # only hashes are kept
    with rt.db.session(write=False) as s:
        hashes = [r[0] for r in s.execute(text("SELECT token_hash FROM tokens"))]
    assert len(hashes) >= 3 and all(len(x) == 64 and int(x, 16) >= 0 for x in hashes)
    for value in stored:  # a dump of the database logs nobody in, as a token or as a cookie
        for headers in ({"Authorization": f"Bearer {value}"}, {"Cookie": f"lh_session={value}"}):
            assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert all(
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {t}"}).status_code == 200
        for t in secrets[:2]
    )
    listing = client.get("/api/v1/tokens", headers=h).text
    assert made not in listing and login["token"] not in listing and made[:8] in listing  # a prefix only


def test_K_02_passwords_are_argon2id_and_rehashed_when_the_cost_rises(
    client: TestClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _user_with_password(rt)
    with rt.db.session(write=False) as s:
        first = s.scalars(select(User.password_hash).where(User.email == "pw@acme.test")).one()
    assert first is not None and first.startswith("$argon2id$v=19$")
    cost = passwords.parameters()
    assert cost["memory_kib"] >= 19 * 1024 and cost["time_cost"] >= 2  # OWASP's argon2id minimum
    # The operator raises the cost: the next login stores a hash with the new parameters.
    stronger = PasswordHasher(time_cost=cost["time_cost"] + 1, memory_cost=cost["memory_kib"])
    monkeypatch.setattr(passwords, "_hasher", stronger)
    assert (
        client.post("/api/v1/auth/login", json={"email": "pw@acme.test", "password": PASSWORD}).status_code
        == 200
    )
    with rt.db.session(write=False) as s:
        second = s.scalars(select(User.password_hash).where(User.email == "pw@acme.test")).one()
    assert second != first and f"t={cost['time_cost'] + 1}" in str(second)
    assert (
        client.post("/api/v1/auth/login", json={"email": "pw@acme.test", "password": PASSWORD}).status_code
        == 200
    )
    bad = client.post("/api/v1/auth/login", json={"email": "pw@acme.test", "password": "wrong password!"})
    assert bad.status_code == 401


FORGED = "eve\r\n2026-01-01 INFO admin login ok\x1b[2J\u2028"


def _one_line_capture() -> tuple[io.StringIO, logging.Handler]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    return out, handler


def test_K_03_user_strings_cannot_forge_log_lines(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from labelhouse.services import projects

    out, handler = _one_line_capture()
    root = logging.getLogger("labelhouse")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        for name in ("labelhouse.api", "labelhouse.worker", "labelhouse.security"):
            logsafe.logger(name).warning("refused %s", FORGED)

        def boom(*_a: object, **_k: object) -> None:
            raise RuntimeError(f"no project named {FORGED} ({PASSWORD})")

        monkeypatch.setattr(projects, "list_projects", boom)
        who = make_person(rt, "o@acme.test")
        with TestClient(create_app(rt, run_jobs=False), raise_server_exceptions=False) as c:
            r = c.get("/api/v1/projects", headers=who.headers)
        assert (
            r.status_code == 500
            and PASSWORD not in r.text
            and "Traceback" not in r.text
            and FORGED not in r.text
        )
    finally:
        root.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4, lines  # three warnings and the unhandled error, one line each
    assert all(line.startswith(("WARNING labelhouse.", "ERROR labelhouse.api")) for line in lines)
    assert "\\r\\n2026-01-01 INFO admin login ok\\x1b[2J" in lines[0]
    assert "Traceback" in lines[3] and "RuntimeError" in lines[3]  # the detail is there, escaped


def test_K_03_secrets_reach_no_response_audit_or_export(client: TestClient, rt: Runtime) -> None:
    _user_with_password(rt)
    responses: list[str] = []
    bad = client.post("/api/v1/auth/login", json={"email": "pw@acme.test", "password": PASSWORD + "x"})
    responses.append(bad.text)
    login = client.post("/api/v1/auth/login", json={"email": "pw@acme.test", "password": PASSWORD}).json()
    h = {"Authorization": f"Bearer {login['token']}"}
    made = client.post("/api/v1/tokens", json={"name": "ci"}, headers=h).json()["token"]
    pid = client.post("/api/v1/projects", json={"name": "p", "schema": BOX_SCHEMA}, headers=h).json()["id"]
    responses.append(client.post(f"/api/v1/projects/{pid}/items", content=_zip(), headers=h).text)
    responses.append(
        client.post(
            "/api/v1/members",
            json={"email": "m@acme.test", "role": "manager", "password": PASSWORD},
            headers=h,
        ).text
    )
    for path in (
        "/api/v1/audit?limit=1000",
        "/api/v1/tokens",
        "/api/v1/members",
        "/api/v1/me",
        f"/api/v1/projects/{pid}/export?format=jsonl",
        f"/api/v1/projects/{pid}/export?format=csv",
        f"/api/v1/projects/{pid}/export?format=coco",
        f"/api/v1/projects/{pid}/items",
    ):
        responses.append(client.get(path, headers=h).text)
    with rt.db.session(write=False) as s:
        responses += [str(r) for r in s.execute(text("SELECT * FROM audit_events"))]
    for secret in (PASSWORD, login["token"], made, str(rt.settings.data_dir), str(rt.settings.blob_dir)):
        assert not [r for r in responses if secret in r], secret


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in range(2):
            img = io.BytesIO()
            Image.new("RGB", (16 + n, 8), "white").save(img, format="PNG")
            z.writestr(f"{n}.png", img.getvalue())
    return buf.getvalue()


def test_K_07_signed_file_links_cannot_be_altered_extended_or_retyped(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = client.post(
        "/api/v1/projects", json={"name": "b", "schema": BOX_SCHEMA}, headers=owner.headers
    ).json()["id"]
    client.post(f"/api/v1/projects/{pid}/items", content=_zip(), headers=owner.headers)
    ann = make_person(rt, "ann@acme.test", role="annotator")
    handout = client.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).json()
    url = handout["task"]["item"]["image"]["url"]
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert set(q) == {"u", "w", "exp", "sig"}
    assert int(q["exp"]) <= time.time() + 900 + 5  # no longer than the lease
    assert "/blobs/" not in url and str(rt.settings.data_dir) not in url  # an object id, not a path
    good = client.get(url)
    assert good.status_code == 200
    assert good.headers["content-type"] == "image/png"
    assert good.headers["x-content-type-options"] == "nosniff"
    assert good.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert good.headers["referrer-policy"] == "no-referrer"
    assert good.headers["cache-control"].startswith("private")

    def variant(path: str = parts.path, **changes: str) -> str:
        return f"{path}?{urlencode({**q, **changes})}"

    item = int(parts.path.split("/")[4])
    other_item = parts.path.replace(f"/items/{item}/", f"/items/{item + 1}/")
    for altered in (
        variant(exp=str(int(q["exp"]) + 3600)),
        variant(u=str(owner.user_id)),
        variant(w=str(int(q["w"]) + 1)),
        variant(other_item),
        variant(parts.path.replace("/files/image", "/files/text")),
        variant(sig=q["sig"][:-2] + ("AA" if not q["sig"].endswith("AA") else "BB")),
    ):
        assert client.get(altered).status_code == 401, altered
    # Extra response-* parameters change nothing: the headers are the server's.
    retyped = client.get(url + "&response-content-type=text/html&response-content-disposition=inline")
    assert retyped.status_code == 200 and retyped.headers["content-type"] == "image/png"
    # A correctly signed link whose time is up is refused, even with a live lease.
    past = int(time.time()) - 1
    field = parts.path.rsplit("/", 1)[1]
    expired = variant(exp=str(past), sig=signing.sign(rt.secret, int(q["u"]), int(q["w"]), item, field, past))
    r = client.get(expired)
    assert r.status_code == 401 and "expired" in r.text


def test_A_07_tokens_are_bound_to_their_user_and_workspace_and_die_at_once(
    client: TestClient, rt: Runtime
) -> None:
    a = make_person(rt, "a@acme.test", "acme")
    b = make_person(rt, "b@globex.test", "globex")
    pb = client.post("/api/v1/projects", json={"name": "B", "schema": BOX_SCHEMA}, headers=b.headers).json()[
        "id"
    ]
    made = client.post("/api/v1/tokens", json={"name": "ci"}, headers=a.headers)
    assert made.status_code == 201
    token, token_id = made.json()["token"], made.json()["id"]
    h = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/projects/{pb}", headers=h).status_code == 404  # B's objects: not found
    # The secret is shown once: no GET answers it again (a listing shows a prefix).
    for path in ("/api/v1/tokens", "/api/v1/me", "/api/v1/members", "/api/v1/audit?limit=1000"):
        assert token not in client.get(path, headers=a.headers).text
    # Another workspace's owner cannot revoke (or see) it; its owner can, and it dies at once.
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=b.headers).status_code == 404
    assert client.get("/api/v1/me", headers=h).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=a.headers).status_code == 204
    assert client.get("/api/v1/me", headers=h).status_code == 401
    assert client.post("/api/v1/projects/1/next", headers=h).status_code == 401  # the fast lane too
