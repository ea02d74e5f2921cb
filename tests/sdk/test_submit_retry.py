"""Submits are never duplicated: one idempotency key per submit, reused on every retry."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from labelhouse.runtime import Runtime
from labelhouse.sdk import Client, Task, Unavailable
from tests.conftest import CHOICES_SCHEMA, Person, make_person


class Flaky(httpx.BaseTransport):
    """The real server behind a bad network: the first matching request fails once.

    ``drop``: the server does the work, then the connection breaks before the response arrives.
    ``503``: a proxy answers 503 and the server never sees the request.
    """

    def __init__(self, method: str, path_part: str, how: str = "drop") -> None:
        self.inner = httpx.HTTPTransport()
        self.method, self.path_part, self.how = method, path_part, how
        self.failures_left = 1
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        matches = request.method == self.method and self.path_part in request.url.path
        if matches:
            self.seen.append(request)
        if matches and self.failures_left and self.how == "503":
            self.failures_left -= 1
            return httpx.Response(503, json={"error": {"code": "unavailable", "message": "restarting"}})
        response = self.inner.handle_request(request)
        if matches and self.failures_left:
            self.failures_left -= 1
            response.read()
            response.close()
            raise httpx.ReadError("connection reset after the request was sent", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def _one_task(lh: Client, server: str, rt: Runtime) -> tuple[str, int]:
    pid = lh.projects.create("sentiment", CHOICES_SCHEMA)["id"]
    lh.items.import_records(pid, [{"text": "x"}])
    return make_person(rt, "ann@acme.test", role="annotator").token, pid


def test_same_key_returns_the_first_annotation(lh: Client, server: str, rt: Runtime) -> None:
    token, pid = _one_task(lh, server, rt)
    with Client(server, token) as worker:
        task = worker.next(pid)
        assert task is not None
        first = worker.submit(task, {"label": "pos"}, idempotency_key="k-1")
        again = worker.submit(task, {"label": "pos"}, idempotency_key="k-1")
    assert again["id"] == first["id"]
    assert len(lh.annotations.list(task.id, all_versions=True)) == 1


@pytest.mark.parametrize("how", ["drop", "503"])
def test_a_failed_submit_is_retried_with_the_same_key(lh: Client, server: str, rt: Runtime, how: str) -> None:
    token, pid = _one_task(lh, server, rt)
    transport = Flaky("POST", "/annotations", how)
    with httpx.Client(transport=transport) as http, Client(server, token, http=http) as worker:
        worker._session.backoff = 0.01
        task = worker.next(pid)
        assert task is not None
        done = worker.submit(task, {"label": "neg"})
    keys = [json.loads(r.content)["idempotency_key"] for r in transport.seen]
    assert len(keys) == 2 and keys[0] == keys[1] == str(uuid.UUID(keys[0]))
    stored = lh.annotations.list(task.id, all_versions=True)
    assert [a["id"] for a in stored] == [done["id"]]


def test_an_edit_is_not_repeated_when_its_response_is_lost(
    lh: Client, server: str, rt: Runtime, owner: Person
) -> None:
    token, pid = _one_task(lh, server, rt)
    with Client(server, token) as worker:
        task = worker.next(pid)
        assert task is not None
        done = worker.submit(task, {"label": "pos"})
    transport = Flaky("PUT", f"/annotations/{done['id']}")
    with httpx.Client(transport=transport) as http, Client(server, owner.token, http=http) as boss:
        with pytest.raises(Unavailable, match="may or may not have been applied"):
            boss.annotations.edit(done["id"], {"label": "neg"})
    assert len(transport.seen) == 1
    assert len(lh.annotations.list(task.id, all_versions=True)) == 2


def test_no_server_raises_unavailable_after_retries() -> None:
    with Client("http://127.0.0.1:9", "t", retries=2) as lh:
        lh._session.backoff = 0.01
        with pytest.raises(Unavailable, match="after 3 attempts") as caught:
            lh.health()
    assert caught.value.code == "unavailable" and caught.value.status is None
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_task_is_a_plain_value() -> None:
    task = Task.from_json(
        {
            "task": {"id": 1, "item_id": 2, "project_id": 3, "item": {"text": "x"}, "draft": None},
            "lease": {"id": 4, "expires_at": "2030-01-01T00:00:00Z"},
        }
    )
    assert (task.id, task.lease_id, task.lease_expires_at.year, task.lease_expires_at.tzinfo is not None) == (
        1,
        4,
        2030,
        True,
    )
