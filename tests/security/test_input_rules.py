"""I-01, I-10, I-12: malformed JSON, labeling configs that try to be XML or YAML, Unicode tricks."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text

import labelhouse
from labelhouse.core.text import BadText, clean_label, clean_name
from labelhouse.runtime import Runtime
from tests.conftest import CHOICES_SCHEMA, Person
from tests.security.test_isolation_matrix import _inventory

MALFORMED: dict[str, tuple[bytes, str]] = {
    "truncated": (b'{"name": "x", "schema": {', "application/json"),
    "invalid utf-8": (b'{"name": "\xff\xfe", "role": "annotator"}', "application/json"),
    "lone surrogate": (
        b'{"name": "\\ud800", "role": "annotator", "email": "\\udfff@x.test"}',
        "application/json",
    ),
    "duplicate keys": (
        b'{"role": "annotator", "role": "owner", "name": "a", "name": "b"}',
        "application/json",
    ),
    "NaN": (b'{"name": "x", "gold_rate": NaN, "lead_time_s": NaN}', "application/json"),
    "Infinity": (b'{"name": "x", "gold_rate": -Infinity, "overlap": Infinity}', "application/json"),
    "BOM": (b'\xef\xbb\xbf{"name": "x", "role": "annotator"}', "application/json"),
    "wrong content type": (b'{"name": "x", "role": "annotator"}', "text/plain"),
    "top-level array": (b'[{"name": "x"}]', "application/json"),
    "null": (b"null", "application/json"),
    "huge integer": (b'{"name": "x", "overlap": ' + b"9" * 5000 + b"}", "application/json"),
    "nulls for required": (
        b'{"name": null, "schema": null, "role": null, "answer": null}',
        "application/json",
    ),
}


def _digest(rt: Runtime) -> tuple[int, ...]:
    tables = ("projects", "items", "tasks", "annotations", "memberships", "users", "tokens", "leases", "jobs")
    with rt.db.session(write=False) as s:
        return tuple(s.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables)


def _json_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) whose operation takes a JSON body (the inventory of the matrix test)."""
    from fastapi.routing import iter_route_contexts

    with_body = {
        (m, c.path)
        for c in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        if isinstance(c.original_route, APIRoute) and c.original_route.body_field is not None
        for m in c.original_route.methods
    }
    return sorted(
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for method, path in _inventory(client.app)
        if (method, path) in with_body
    )


def test_I_01_malformed_json_is_a_clear_4xx_on_every_route_and_writes_nothing(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = client.post(
        "/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA}, headers=owner.headers
    ).json()["id"]
    client.post(f"/api/v1/projects/{pid}/items", json=[{"text": "a"}], headers=owner.headers)
    routes = _json_routes(client)
    assert len(routes) >= 15
    before = _digest(rt)
    for method, path in routes:
        path = path.replace("/projects/1/", f"/projects/{pid}/")
        for name, (body, content_type) in MALFORMED.items():
            r = client.request(
                method, path, content=body, headers={**owner.headers, "content-type": content_type}
            )
            assert r.status_code in (400, 404, 405, 413, 415, 422), (
                method,
                path,
                name,
                r.status_code,
                r.text,
            )
            if r.status_code in (400, 422):
                assert r.json()["error"]["code"] == "invalid", (method, path, name)
    assert _digest(rt) == before


def test_I_01_duplicate_keys_are_refused_not_last_wins(client: TestClient, owner: Person) -> None:
    r = client.post(
        "/api/v1/members",
        content=b'{"email": "n@acme.test", "role": "annotator", "role": "owner"}',
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400 and "'role' appears twice" in r.json()["error"]["message"]
    assert "n@acme.test" not in client.get("/api/v1/members", headers=owner.headers).text
    # Nested objects too, and the fast lane (submit) as well as FastAPI routes.
    r = client.post(
        "/api/v1/tasks/1/annotations",
        content=b'{"answer": {"label": "pos", "label": "neg"}, "lease_id": 1, "idempotency_key": "k"}',
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400 and "'label' appears twice" in r.json()["error"]["message"]
    ok = client.post(
        "/api/v1/members", json={"email": "n@acme.test", "role": "annotator"}, headers=owner.headers
    )
    assert ok.status_code == 201  # the same call, well-formed, goes through


# --- I-10: labeling configs are JSON, parsed by pydantic; YAML only through one safe loader --------

XML_CONFIG = """<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">
<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY % dtd SYSTEM "http://127.0.0.1:9/x.dtd"> %dtd;]>
<View><Choices name="label" toName="text"><Choice value="&lol2;&xxe;"/></Choices></View>"""
YAML_CONFIG = "!!python/object/apply:os.system ['touch /tmp/pwned']\ncontrols: []"


def test_I_10_configs_that_are_xml_or_yaml_are_refused_and_never_parsed(
    client: TestClient, owner: Person
) -> None:
    for schema in (XML_CONFIG, YAML_CONFIG, {"controls": XML_CONFIG}, {"$ref": "file:///etc/passwd"}):
        r = client.post("/api/v1/projects", json={"name": "p", "schema": schema}, headers=owner.headers)
        assert r.status_code == 422 and r.json()["error"]["field"].startswith("schema"), r.text
    # An option holding entity syntax is a plain string: stored and shown as typed, never expanded.
    schema = {
        "controls": [{"name": "label", "type": "choices", "over": "text", "options": ["&lol2;&xxe;", "b"]}]
    }
    r = client.post("/api/v1/projects", json={"name": "p", "schema": schema}, headers=owner.headers)
    assert r.status_code == 201 and r.json()["schema"]["controls"][0]["options"][0] == "&lol2;&xxe;"
    r = client.post(
        "/api/v1/projects",
        json={"name": "p", "schema": {"controls": [{"type": "View<x/>"}]}},
        headers=owner.headers,
    )
    assert r.status_code in (404, 422) and "View<x/>" in r.text  # unknown control type, named


_UNSAFE_PARSERS = re.compile(r"^(xml|lxml|yaml|ruamel|pickle|marshal|shelve|jsonpickle|dill)(\.|$)")
# The schema editor's YAML is read in one module, by a SafeLoader subclass without aliases
# (tests/api/test_schema_check.py sends it python tags and alias bombs).
_YAML_READER = Path("controls") / "schema_text.py"


def test_I_10_no_xml_yaml_or_pickle_parser_is_imported_anywhere() -> None:
    """The static half: no module of the server imports a parser that could expand entities, run
    YAML tags or unpickle (configs and imports are JSON, JSONL, CSV and binary media only); the
    one YAML reader uses a SafeLoader and nothing else of PyYAML that constructs objects."""
    reader = (Path(labelhouse.__file__).parent / _YAML_READER).read_text(encoding="utf-8")
    assert "SafeLoader" in reader
    for unsafe in ("yaml.Loader", "FullLoader", "UnsafeLoader", "unsafe_load", "full_load", "load_all"):
        assert unsafe not in reader, unsafe
    root = Path(labelhouse.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if path.relative_to(root) == _YAML_READER:
                names = [n for n in names if n != "yaml"]
            found += [f"{path.relative_to(root)}: {n}" for n in names if _UNSAFE_PARSERS.match(n)]
    assert not found, found


# --- I-12: Unicode in names and labels ----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "invoice\u202egpj.exe",
        "a\u200bb",
        "x\x00y",
        "line\r\nbreak",
        "esc\x1b[31mred",
        "\ufeffbom",
        "iso\u2066late\u2069",
        "private\ue000use",
        "unassigned\U000e0fff",
    ],
)
def test_I_12_invisible_and_control_characters_are_refused_in_names(bad: str) -> None:
    with pytest.raises(BadText, match=r"U\+[0-9A-F]{4}"):
        clean_name(bad)


def test_I_12_names_are_nfc_and_mixed_script_labels_are_refused() -> None:
    assert clean_name("Cafe\u0301") == "Caf\u00e9"  # NFD in, NFC stored
    assert clean_name("\u0645\u06cc\u200c\u062e\u0648\u0627\u0645") is not None  # Persian ZWNJ stays allowed
    assert (
        clean_label("\u041a\u043e\u0448\u043a\u0430") == "\u041a\u043e\u0448\u043a\u0430"
    )  # all-Cyrillic is fine
    with pytest.raises(BadText, match="cyrillic"):
        clean_label("\u0421at")  # "Cat" with a Cyrillic Es


def test_I_12_labels_are_unique_under_normalization_and_names_are_checked_through_the_api(
    client: TestClient, owner: Person
) -> None:
    def schema(*options: str) -> dict:  # type: ignore[type-arg]
        return {"controls": [{"name": "label", "type": "choices", "over": "text", "options": list(options)}]}

    h = owner.headers
    r = client.post(
        "/api/v1/projects", json={"name": "p", "schema": schema("caf\u00e9", "cafe\u0301")}, headers=h
    )
    assert r.status_code == 422 and "listed twice" in r.json()["error"]["message"]
    r = client.post("/api/v1/projects", json={"name": "p", "schema": schema("cat", "\u0441at")}, headers=h)
    assert r.status_code == 422 and "cyrillic" in r.json()["error"]["message"]
    boxes = {
        "controls": [{"name": "objects", "type": "boxes", "over": "image", "labels": ["car", "car\u200b"]}]
    }
    r = client.post("/api/v1/projects", json={"name": "p", "schema": boxes}, headers=h)
    assert r.status_code == 422 and "U+200B" in r.json()["error"]["message"]
    r = client.post(
        "/api/v1/projects", json={"name": "report\u202efdp.exe", "schema": schema("a")}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "name"
    r = client.post("/api/v1/projects", json={"name": "\u0301" * 10_000, "schema": schema("a")}, headers=h)
    assert r.status_code == 422  # length in code points, capped
    r = client.post(
        "/api/v1/projects", json={"name": "Cafe\u0301", "schema": schema("cafe\u0301", "b")}, headers=h
    )
    assert r.status_code == 201
    body = r.json()
    assert body["name"] == "Caf\u00e9" and body["schema"]["controls"][0]["options"][0] == "caf\u00e9"
    r = client.patch(f"/api/v1/projects/{body['id']}", json={"name": "x\x00"}, headers=h)
    assert r.status_code == 422
    r = client.post(
        "/api/v1/members",
        json={"email": "a@acme.test", "role": "annotator", "skills": ["fr\u202e"]},
        headers=h,
    )
    assert r.status_code == 422
