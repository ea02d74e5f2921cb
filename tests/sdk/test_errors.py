"""Errors arrive as the server's classes, with code, message, field and status."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from labelhouse.runtime import Runtime
from labelhouse.sdk import Client, Forbidden, Invalid, LabelhouseError, NotFound, Unauthenticated, Unavailable
from tests.conftest import CHOICES_SCHEMA, make_person

Connect = Callable[[str], Client]


def test_a_bad_answer_is_invalid_with_its_field(lh: Client, connect: Connect, rt: Runtime) -> None:
    pid = lh.projects.create("sentiment", CHOICES_SCHEMA)["id"]
    lh.items.import_records(pid, [{"text": "x"}])
    worker = connect(make_person(rt, "ann@acme.test", role="annotator").token)
    task = worker.next(pid)
    assert task is not None
    with pytest.raises(Invalid) as caught:
        worker.submit(task, {"label": "maybe"})
    assert (caught.value.code, caught.value.field, caught.value.status) == ("invalid", "label", 422)
    assert "maybe" in caught.value.message


def test_a_bad_request_body_is_invalid_with_its_field(lh: Client) -> None:
    with pytest.raises(Invalid) as caught:
        lh.projects.create("p", CHOICES_SCHEMA, overlap="many")  # type: ignore[arg-type]
    assert caught.value.field == "overlap"
    pid = lh.projects.create("p", CHOICES_SCHEMA)["id"]
    with pytest.raises(Invalid) as caught:
        lh.projects.update(pid, colour="red")
    assert caught.value.field == "colour"


def test_another_workspaces_project_is_not_found(lh: Client, connect: Connect, rt: Runtime) -> None:
    pid = lh.projects.create("ours", CHOICES_SCHEMA)["id"]
    stranger = connect(make_person(rt, "x@other.test", workspace="other").token)
    with pytest.raises(NotFound) as caught:
        stranger.projects.get(pid)
    assert caught.value.status == 404 and caught.value.code == "not_found"
    with pytest.raises(NotFound):
        stranger.items.import_records(pid, [{"text": "sneaky"}])
    assert lh.projects.stats(pid)["tasks"] == 0


def test_bad_token_and_weak_role(lh: Client, server: str, connect: Connect, rt: Runtime) -> None:
    with pytest.raises(Unauthenticated):
        connect("not-a-token").me()
    with pytest.raises(Unauthenticated):
        Client.login(server, "owner@acme.test", "wrong password")
    annotator = connect(make_person(rt, "ann@acme.test", role="annotator").token)
    with pytest.raises(Forbidden):
        annotator.projects.create("mine", CHOICES_SCHEMA)


def _answering(status: int, body: bytes, content_type: str = "application/json") -> Client:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(status, content=body, headers={"content-type": content_type})
    )
    return Client("http://lh.test", "t", retries=0, http=httpx.Client(transport=transport))


def test_error_bodies_not_from_labelhouse_still_map_by_status() -> None:
    with pytest.raises(Unavailable, match="HTTP 502 .*bad gateway"):
        _answering(502, b"<html>bad gateway</html>", "text/html").health()
    with pytest.raises(NotFound):
        _answering(404, b"").health()
    with pytest.raises(LabelhouseError) as caught:
        _answering(418, b"teapot", "text/plain").health()
    assert type(caught.value) is LabelhouseError and caught.value.status == 418


def test_an_unknown_code_falls_back_to_the_status() -> None:
    body = b'{"error": {"code": "brand_new", "message": "later versions", "field": "x"}}'
    with pytest.raises(Invalid) as caught:
        _answering(422, body).health()
    assert (caught.value.message, caught.value.field) == ("later versions", "x")


class _BreaksOff(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b'{"task_id": 1}\n'
        raise httpx.ReadError("connection reset")


def test_a_broken_export_raises_unavailable_and_leaves_no_file(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=_BreaksOff()))
    with Client("http://lh.test", "t", http=httpx.Client(transport=transport)) as lh:
        records = lh.export_records(1)
        assert next(records) == {"task_id": 1}
        with pytest.raises(Unavailable, match="broke off"):
            next(records)
        with pytest.raises(Unavailable, match="broke off"):
            lh.export(1, path=tmp_path / "out.jsonl")
    assert list(tmp_path.iterdir()) == []
