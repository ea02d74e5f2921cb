"""The schema editor's check: a schema as YAML or JSON text, read safely, checked like a project
would check it, and the export formats a project's controls feed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from labelhouse.controls.schema_text import parse_schema_text
from labelhouse.core.errors import Invalid
from tests.conftest import Person

YAML = """\
controls:
  - name: objects
    type: boxes
    over: image
    labels: [car, person]
    description: 2024-01-01   # stays text, not a date
  - name: note
    type: text
    required: false
"""


def test_yaml_schema_is_read_and_checked(client: TestClient, owner: Person) -> None:
    r = client.post("/api/v1/schemas/check", json={"text": YAML, "syntax": "yaml"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["schema"]["controls"][0]["labels"] == ["car", "person"]
    assert body["schema"]["controls"][0]["description"] == "2024-01-01"
    assert body["exports"] == ["csv", "jsonl", "coco", "sft"]
    created = client.post(
        "/api/v1/projects", json={"name": "from yaml", "schema": body["schema"]}, headers=owner.headers
    )
    assert created.status_code == 201 and created.json()["exports"] == ["csv", "jsonl", "coco", "sft"]


@pytest.mark.parametrize(
    ("text", "syntax", "says"),
    [
        ("controls:\n  - name: x\n    type: choices\n  options: [a", "yaml", "line 4"),
        ('{"controls": [}', "json", "line 1, column 15"),
        ("controls:\n  - name: x\n    type: choices\n    over: t\n    options: []\n", "yaml", "options"),
        ("controls:\n  - name: x\n    type: nope\n", "yaml", "unknown control type"),
    ],
)
def test_mistakes_name_their_place(
    client: TestClient, owner: Person, text: str, syntax: str, says: str
) -> None:
    r = client.post("/api/v1/schemas/check", json={"text": text, "syntax": syntax}, headers=owner.headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert says in error["message"] + " " + str(error.get("field")), error


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a: !!python/object/apply:os.system ['true']", "could not determine a constructor"),
        ("a: &x [1, 2]\nb: [*x, *x, *x]", "aliases"),  # the billion laughs starts like this
        ("a: !!binary aGVsbG8=", "bytes"),
        ("a: !!set {x, y}", "set"),
        ("1: one", "keys must be text"),
        ("a: .nan", "finite"),
    ],
)
def test_yaml_is_read_safely(text: str, says: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_schema_text(text, "yaml")
    assert says in str(err.value) and err.value.field == "text"


def test_annotators_cannot_check_schemas(client: TestClient, rt: object) -> None:
    from tests.conftest import make_person

    ann = make_person(rt, "ann@acme.test", role="annotator")  # type: ignore[arg-type]
    r = client.post("/api/v1/schemas/check", json={"text": "controls: []"}, headers=ann.headers)
    assert r.status_code == 403
