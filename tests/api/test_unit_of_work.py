"""A failed commit never turns into a 2xx, and leaves nothing behind."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from labelhouse.api.app import create_app
from tests.conftest import CHOICES_SCHEMA, make_person


def test_failed_commit_is_an_error_and_writes_nothing(rt, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = make_person(rt, "o@acme.test")
    with TestClient(create_app(rt, run_jobs=False), raise_server_exceptions=False) as c:
        pid = c.post(
            "/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA}, headers=owner.headers
        ).json()["id"]
        c.post(f"/api/v1/projects/{pid}/items", json=[{"text": "a"}], headers=owner.headers)
        h = c.post(f"/api/v1/projects/{pid}/next", headers=owner.headers).json()

        def broken_commit(self: Session) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(Session, "commit", broken_commit)
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
