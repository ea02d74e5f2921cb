"""The fast lane (api/fastlane.py) applies the stack's checks itself: the same answers as a routed call.

Body limit, rate limit, strict JSON and security headers are middleware for every other call; the
fast lane's two calls pass them in one place, and these tests hold both lanes to the same answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labelhouse.api.app import create_app
from labelhouse.api.headers import CSP, HEADERS
from labelhouse.api.strictjson import BadJson, check
from labelhouse.runtime import Runtime, open_runtime
from labelhouse.services.accounts import actor_cache
from labelhouse.settings import load_settings
from tests.conftest import CHOICES_SCHEMA, Person, make_person

STRICT = {**HEADERS, "content-security-policy": CSP, "cache-control": "no-store"}
JSON = {"content-type": "application/json"}


def _project_with_items(client: TestClient, owner: Person, n: int = 3) -> int:
    pid = int(
        client.post(
            "/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA}, headers=owner.headers
        ).json()["id"]
    )
    items = [{"text": f"row {i}"} for i in range(n)]
    assert client.post(f"/api/v1/projects/{pid}/items", json=items, headers=owner.headers).status_code == 201
    return pid


def _strict_headers(headers: object) -> dict[str, str]:
    return {name: headers.get(name) for name in STRICT}  # type: ignore[attr-defined]


def test_fast_lane_answers_carry_the_security_headers_of_routed_answers(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _project_with_items(client, owner)
    ann = make_person(rt, "ann@acme.test", role="annotator")
    routed = client.get("/api/v1/projects", headers=owner.headers)
    assert _strict_headers(routed.headers) == STRICT
    handout = client.post(f"/api/v1/projects/{pid}/next", headers=ann.headers)
    assert handout.status_code == 200
    submitted = client.post(
        f"/api/v1/tasks/{handout.json()['task']['id']}/annotations",
        json={"answer": {"label": "pos"}, "lease_id": handout.json()["lease"]["id"], "idempotency_key": "k1"},
        headers=ann.headers,
    )
    assert submitted.status_code == 201
    unauthenticated = client.post(f"/api/v1/projects/{pid}/next", headers={"Authorization": "Bearer lh_nope"})
    assert unauthenticated.status_code == 401
    invalid = client.post("/api/v1/tasks/1/annotations", json={"answer": 1}, headers=ann.headers)
    assert invalid.status_code == 422
    for r in (handout, submitted, unauthenticated, invalid):
        assert _strict_headers(r.headers) == STRICT, r.request.url
        assert r.headers["content-type"] == "application/json"
        assert r.headers.get_list("x-frame-options") == ["DENY"]  # added once, not twice


def test_strict_json_comes_before_authentication_in_both_lanes(client: TestClient) -> None:
    nobody = {"Authorization": "Bearer lh_nope", **JSON}
    twice = b'{"prefetch": true, "prefetch": false}'
    for path in ("/api/v1/projects/1/next", "/api/v1/members"):
        r = client.post(path, content=twice, headers=nobody)
        assert r.status_code == 400, (path, r.text)
        assert r.json()["error"]["field"] == "body"
        assert "'prefetch' appears twice" in r.json()["error"]["message"]
    # Not JSON by its content type: no strict check, and the token is checked first.
    r = client.post(
        "/api/v1/projects/1/next", content=twice, headers={**nobody, "content-type": "text/plain"}
    )
    assert r.status_code == 401


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    """An app with a 1 MiB body limit and 1 request a second per token (bursts of 10)."""
    env = {"LABELHOUSE_MAX_BODY_MB": "1", "LABELHOUSE_RATE_LIMIT": "1"}
    runtime = open_runtime(load_settings(env=env, data_dir=tmp_path / "data", job_threads=0))
    actor_cache.clear()
    with TestClient(create_app(runtime, run_jobs=False)) as c:
        yield c, runtime
    runtime.db.dispose()


def test_the_body_limit_is_the_same_in_both_lanes(limited: tuple[TestClient, Runtime]) -> None:
    client, rt = limited
    owner = make_person(rt, "owner@acme.test")
    big = b'{"prefetch": "' + b"x" * (1024 * 1024) + b'"}'
    answers = [
        client.post(path, content=big, headers={**owner.headers, **JSON})
        for path in ("/api/v1/projects/1/next", "/api/v1/tasks/1/annotations", "/api/v1/members")
    ]
    assert {r.status_code for r in answers} == {413}
    assert len({r.text for r in answers}) == 1
    assert answers[0].json()["error"]["code"] == "too_large"
    assert "the limit of a call other than an import" in answers[0].json()["error"]["message"]
    # A body that does not declare its length (chunked) is cut at the same limit.
    chunked = client.post(
        "/api/v1/projects/1/next", content=iter([big[:600_000], big[600_000:]]), headers=owner.headers
    )
    assert chunked.status_code == 413 and chunked.text == answers[0].text
    assert _strict_headers(chunked.headers) == STRICT


def test_the_fast_lane_takes_from_the_same_rate_limit_buckets(limited: tuple[TestClient, Runtime]) -> None:
    client, rt = limited
    owner = make_person(rt, "owner@acme.test")
    pid = _project_with_items(client, owner)  # 2 requests of the burst of 10
    other = make_person(rt, "other@acme.test", role="annotator")
    for _ in range(8):
        assert client.get("/api/v1/projects", headers=owner.headers).status_code == 200
    refused = client.post(f"/api/v1/projects/{pid}/next", headers=owner.headers)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many"
    assert int(refused.headers["retry-after"]) >= 1
    assert _strict_headers(refused.headers) == STRICT
    # ... and the other way round: the labeling loop's calls use up a token's bucket for the router.
    for _ in range(10):
        r = client.post(f"/api/v1/projects/{pid}/next", headers=other.headers)
        assert r.status_code in (200, 204, 403, 404), r.text
    assert client.get("/api/v1/projects", headers=other.headers).status_code == 429
    # Another token is not held back by these.
    third = make_person(rt, "third@acme.test", role="annotator")
    key = str(uuid.uuid4())
    r = client.post(
        "/api/v1/tasks/1/annotations", json={"answer": 1, "idempotency_key": key}, headers=third.headers
    )
    assert r.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": {"b": [{"c": 1, "c": 1}]}}',
        b'{"a": "\\ud800"}',
        b'{"a": "\\uDFFF"}',
        b'{"a": NaN}',
        b'{"a": 1}{',
    ],
)
def test_strict_json_refuses(body: bytes) -> None:
    with pytest.raises(BadJson):
        check(body)


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"a": {}, "b": [{}, {"a": 1}]}',
        b'{"a": "\\u00e9\\ud83d\\ude00", "\\\\u": 1}',
        '{"a": "é"}'.encode(),
    ],
)
def test_strict_json_accepts(body: bytes) -> None:
    check(body)


def test_an_unforeseen_failure_is_the_same_500_in_both_lanes(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labelhouse.api import fastlane
    from labelhouse.services import projects

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    owner = make_person(rt, "o@acme.test")
    monkeypatch.setattr(fastlane, "next_response", broken)
    monkeypatch.setattr(projects, "list_projects", broken)
    with TestClient(create_app(rt, run_jobs=False), raise_server_exceptions=False) as c:
        lane = c.post("/api/v1/projects/1/next", headers=owner.headers)
        routed = c.get("/api/v1/projects", headers=owner.headers)
    assert lane.status_code == routed.status_code == 500
    assert lane.json() == routed.json() and lane.json()["error"]["code"] == "internal"
    assert _strict_headers(lane.headers) == STRICT
    with TestClient(create_app(rt, run_jobs=False)) as c, pytest.raises(RuntimeError, match="disk full"):
        c.post("/api/v1/projects/1/next", headers=owner.headers)  # and the server still sees it
