"""A failed commit never turns into a 2xx, and leaves nothing behind: on the ORM session path
and on the raw hot path of the labeling loop."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from labelhouse.api.app import create_app
from labelhouse.storage.database import Database
from tests.conftest import CHOICES_SCHEMA, make_person


def _broken(self: object) -> None:
    raise RuntimeError("disk full")


def test_failed_commit_is_an_error_and_writes_nothing(rt, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = make_person(rt, "o@acme.test")
    with TestClient(create_app(rt, run_jobs=False), raise_server_exceptions=False) as c:
        pid = c.post(
            "/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA}, headers=owner.headers
        ).json()["id"]
        c.post(f"/api/v1/projects/{pid}/items", json=[{"text": "a"}], headers=owner.headers)
        h = c.post(f"/api/v1/projects/{pid}/next", headers=owner.headers).json()

        monkeypatch.setattr(Database, "_commit_raw", staticmethod(_broken))
        r = c.post(
            f"/api/v1/tasks/{h['task']['id']}/annotations",
            json={
                "answer": {"label": "pos"},
                "lease_id": h["lease"]["id"],
                "idempotency_key": str(uuid.uuid4()),
            },
            headers=owner.headers,
        )
        assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
        monkeypatch.undo()
        assert c.get(f"/api/v1/tasks/{h['task']['id']}/annotations", headers=owner.headers).json() == []

        monkeypatch.setattr(Session, "commit", _broken)
        r = c.patch(f"/api/v1/projects/{pid}", json={"name": "renamed"}, headers=owner.headers)
        assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
        monkeypatch.undo()
        assert c.get(f"/api/v1/projects/{pid}", headers=owner.headers).json()["name"] == "p"
