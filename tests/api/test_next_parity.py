"""``next`` gives the same answers on SQLite (the Python rules) and on PostgreSQL (``lh_next``,
migration 0013, for annotators without skills), through the HTTP API: each scenario runs on both
databases (the ``backend`` fixture) and expects one set of answers. docs/architecture.md, "The
next function on PostgreSQL", lists the rules and where each lives in both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.runtime import Runtime
from labelhouse.services import audit, queue
from tests.conftest import CHOICES_SCHEMA, Person, make_person


def _project(c: TestClient, who: Person, items: list[Any], **settings: Any) -> int:
    pid = int(
        c.post(
            "/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA, **settings}, headers=who.headers
        ).json()["id"]
    )
    r = c.post(f"/api/v1/projects/{pid}/items", json=items, headers=who.headers)
    assert r.status_code in (200, 201), r.text
    return pid


def _next(c: TestClient, who: Person, pid: int, prefetch: bool = False) -> Any:
    r = c.post(f"/api/v1/projects/{pid}/next", json={"prefetch": prefetch}, headers=who.headers)
    if r.status_code == 204:
        return None
    assert r.status_code == 200, r.text
    return r.json()


def _text(h: Any) -> str:
    return str(h["task"]["item"]["text"])


def _submit(c: TestClient, who: Person, h: Any, label: str = "pos") -> None:
    r = c.post(
        f"/api/v1/tasks/{h['task']['id']}/annotations",
        json={
            "answer": {"label": label},
            "lease_id": h["lease"]["id"],
            "idempotency_key": f"{who.email}-{h['lease']['id']}",
        },
        headers=who.headers,
    )
    assert r.status_code == 201, r.text


def _sql(rt: Runtime, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    with rt.db.engine.begin() as conn:
        result = conn.execute(text(sql), params or {})
        return [tuple(r) for r in result] if result.returns_rows else []


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_order_priority_then_id_and_states_other_than_open(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    """Highest priority first, then import order; complete and trashed tasks are never handed."""
    items = [
        {"text": "a"},
        {"data": {"text": "b"}, "priority": 5},
        {"text": "c"},
        {"data": {"text": "d"}, "priority": 5},
    ]
    pid = _project(client, owner, items)
    got = []
    while (h := _next(client, owner, pid)) is not None:
        got.append(_text(h))
        _submit(client, owner, h)
    assert got == ["b", "d", "a", "c"]
    pid2 = _project(client, owner, [{"text": "x"}, {"text": "y"}, {"text": "z"}])
    ids = {
        i["data"]["text"] if "data" in i else i.get("text"): i["id"]
        for i in client.get(f"/api/v1/projects/{pid2}/items", headers=owner.headers).json()
    }
    assert (
        client.post("/api/v1/items/delete", json={"ids": [ids["x"]]}, headers=owner.headers).status_code
        == 200
    )
    _sql(rt, "UPDATE tasks SET state = 'complete' WHERE item_id = :i", {"i": ids["y"]})
    h = _next(client, owner, pid2)
    assert _text(h) == "z"
    _submit(client, owner, h)
    assert _next(client, owner, pid2) is None


def test_roles_restrictions_trashed_project_and_other_workspace(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _project(client, owner, [{"text": "a"}])
    # every role may take tasks (annotator is the lowest)
    reviewer = make_person(rt, "reviewer@acme.test", role="reviewer")
    assert _text(_next(client, reviewer, pid)) == "a"
    vendor = make_person(rt, "vendor@acme.test", role="annotator")
    other = _project(client, owner, [{"text": "b"}])
    assert (
        client.patch(
            f"/api/v1/members/{vendor.user_id}", json={"projects": [other]}, headers=owner.headers
        ).status_code
        == 200
    )
    assert client.post(f"/api/v1/projects/{pid}/next", headers=vendor.headers).status_code == 404
    assert _text(_next(client, vendor, other)) == "b"
    stranger = make_person(rt, "s@else.test", workspace="else")
    assert client.post(f"/api/v1/projects/{pid}/next", headers=stranger.headers).status_code == 404
    assert client.delete(f"/api/v1/projects/{pid}", headers=owner.headers).status_code == 204
    assert client.post(f"/api/v1/projects/{pid}/next", headers=owner.headers).status_code == 404
    assert _sql(rt, "SELECT user_id FROM leases WHERE project_id = :p", {"p": pid}) == [(reviewer.user_id,)]


def test_live_lease_reuse_prefetch_other_project_and_changed_lease_time(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _project(client, owner, [{"text": t} for t in "abc"], lease_seconds=600)
    first = _next(client, owner, pid)
    # a live lease in another project changes nothing here, nor does a lease here change there
    elsewhere = _project(client, owner, [{"text": "z"}])
    assert _text(_next(client, owner, elsewhere)) == "z"
    # the project's lease time changes: the live lease keeps its expiry
    assert (
        client.patch(f"/api/v1/projects/{pid}", json={"lease_seconds": 60}, headers=owner.headers).status_code
        == 200
    )
    again = _next(client, owner, pid)
    assert again["lease"] == first["lease"] and again["task"] == first["task"]
    second = _next(client, owner, pid, prefetch=True)
    assert _text(second) == "b" and second["lease"]["id"] != first["lease"]["id"]
    span = _when(second["lease"]["expires_at"]) - _when(first["lease"]["expires_at"])
    assert timedelta(seconds=-541) < span < timedelta(seconds=-530)  # the new lease has 60 s
    third = _next(client, owner, pid, prefetch=True)  # two held: the newest again
    assert third["lease"] == second["lease"]
    assert _next(client, owner, pid)["lease"] == first["lease"]  # not prefetching: the oldest
    assert _sql(rt, "SELECT leased FROM tasks WHERE project_id = :p ORDER BY id", {"p": pid}) == [
        (1,),
        (1,),
        (0,),
    ]


def test_skip_never_again_release_again_with_the_draft(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _project(client, owner, [{"text": "a"}, {"text": "b"}])
    a = _next(client, owner, pid)
    assert a["task"]["draft"] is None
    draft = {"label": "neg"}
    assert (
        client.put(
            f"/api/v1/tasks/{a['task']['id']}/draft", json={"answer": draft}, headers=owner.headers
        ).status_code
        == 204
    )
    assert _next(client, owner, pid)["task"]["draft"] == draft  # the live lease, with the draft
    assert client.post(f"/api/v1/leases/{a['lease']['id']}/release", headers=owner.headers).status_code == 204
    back = _next(client, owner, pid)  # released: may come back, with its draft and its lease row
    assert _text(back) == "a" and back["task"]["draft"] == draft and back["lease"]["id"] == a["lease"]["id"]
    assert client.post(f"/api/v1/leases/{back['lease']['id']}/skip", headers=owner.headers).status_code == 204
    b = _next(client, owner, pid)
    assert _text(b) == "b"
    assert client.post(f"/api/v1/leases/{b['lease']['id']}/skip", headers=owner.headers).status_code == 204
    assert _next(client, owner, pid) is None  # skipped: never again for this person
    other = make_person(rt, "o@acme.test", role="annotator")
    assert _text(_next(client, other, pid)) == "a"  # but for others
    assert _sql(rt, "SELECT state, leased FROM tasks WHERE project_id = :p ORDER BY id", {"p": pid}) == [
        ("open", 1),
        ("open", 0),
    ]


def test_expiry_sweep_gives_slots_back(client: TestClient, owner: Person, rt: Runtime) -> None:
    pid = _project(client, owner, [{"text": "a"}], overlap=1)
    them = make_person(rt, "them@acme.test", role="annotator")
    h = _next(client, owner, pid)
    assert _next(client, them, pid) is None
    _sql(
        rt,
        "UPDATE leases SET expires_at = :t WHERE id = :l",
        {"t": datetime.now(UTC) - timedelta(hours=1), "l": h["lease"]["id"]},
    )
    queue._sweeps.clear()
    got = _next(client, them, pid)
    assert got is not None and _text(got) == "a"
    assert _sql(rt, "SELECT state FROM leases WHERE id = :l", {"l": h["lease"]["id"]}) == [("expired",)]
    assert _sql(rt, "SELECT leased FROM tasks WHERE project_id = :p", {"p": pid}) == [(1,)]
    # the expired holder gets nothing (the one slot is taken) and may not submit
    assert _next(client, owner, pid) is None


def test_gold_first_once_each_beyond_overlap(client: TestClient, owner: Person, rt: Runtime) -> None:
    items: list[Any] = [{"data": {"text": f"g{i}"}, "gold": {"label": "pos"}} for i in range(2)]
    items += [{"text": "t0"}, {"data": {"text": "t1"}, "priority": 3}]
    pid = _project(client, owner, items, gold_rate=1.0, overlap=1)
    people = [owner, make_person(rt, "x@acme.test", role="annotator")]
    for who in people:
        got = []
        while (h := _next(client, who, pid)) is not None:
            got.append(_text(h))
            _submit(client, who, h)
        expected = ["g0", "g1", "t1", "t0"] if who is owner else ["g0", "g1"]
        assert got == expected
    assert _sql(
        rt, "SELECT is_gold, state, done, leased FROM tasks WHERE project_id = :p ORDER BY id", {"p": pid}
    ) == [
        (True, "open", 2, 0),
        (True, "open", 2, 0),
        (False, "complete", 1, 0),
        (False, "complete", 1, 0),
    ]


def test_overlap_raised_after_completion_reopens_the_slot(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _project(client, owner, [{"text": "a"}], overlap=1)
    _submit(client, owner, _next(client, owner, pid))
    them = make_person(rt, "them@acme.test", role="annotator")
    assert _next(client, them, pid) is None
    _sql(rt, "UPDATE tasks SET overlap = 2, state = 'open' WHERE project_id = :p", {"p": pid})
    assert _next(client, owner, pid) is None  # answered: never twice
    assert _text(_next(client, them, pid)) == "a"


def test_paused_annotator_is_refused_before_anything_is_written(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    pid = _project(client, owner, [{"text": "a"}])
    them = make_person(rt, "them@acme.test", role="annotator")
    h = _next(client, them, pid)
    r = client.post(
        f"/api/v1/projects/{pid}/pauses",
        json={"user_id": them.user_id, "reason": "slow down"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/projects/{pid}/next", headers=them.headers)
    assert r.status_code == 403 and "slow down" in r.json()["error"]["message"]
    events = client.get(f"/api/v1/audit?lane=user:{them.user_id}", headers=owner.headers).json()
    assert [e["details"] for e in events] == [
        {"project": pid, "task": h["task"]["id"], "lease": h["lease"]["id"]}
    ]


def test_the_handout_events(client: TestClient, owner: Person, rt: Runtime) -> None:
    pid = _project(client, owner, [{"text": "a"}, {"text": "b"}])
    them = make_person(rt, "them@acme.test", role="annotator")
    h = _next(client, them, pid)
    _next(client, them, pid)
    p = _next(client, them, pid, prefetch=True)
    events = client.get(f"/api/v1/audit?lane=user:{them.user_id}", headers=owner.headers).json()
    shown = [
        (e["seq"], e["actor_id"], e["actor"], e["action"], e["target"], e["details"], e["lane"])
        for e in events
    ]
    lane = f"user:{them.user_id}"
    base = {"project": pid, "task": h["task"]["id"], "lease": h["lease"]["id"]}
    assert shown == [
        (1, them.user_id, them.email, "task_handout", f"item:{h['task']['item_id']}", base, lane),
        (
            2,
            them.user_id,
            them.email,
            "task_handout",
            f"item:{h['task']['item_id']}",
            {**base, "again": True},
            lane,
        ),
        (
            3,
            them.user_id,
            them.email,
            "task_handout",
            f"item:{p['task']['item_id']}",
            {"project": pid, "task": p["task"]["id"], "lease": p["lease"]["id"]},
            lane,
        ),
    ]
    assert events[0]["prev_hash"] == "0" * 64 and events[1]["prev_hash"] == events[0]["hash"]
    assert _when(events[0]["at"]) < _when(h["lease"]["expires_at"])


def test_times_in_utc_whatever_the_servers_time_zone(
    client: TestClient, owner: Person, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL hands times back in the session's time zone (here New York, as a server set up
    there would): the lease's expiry still answers in UTC as on SQLite, and the audit chain,
    whose hashes cover the time in UTC, still verifies (it found every event edited)."""
    monkeypatch.setenv("PGTZ", "America/New_York")  # libpq: the session's TimeZone
    rt.db.engine.dispose()  # new connections take it
    pid = _project(client, owner, [{"text": "a"}, {"text": "b"}])
    fresh = _next(client, owner, pid)
    again = _next(client, owner, pid)
    assert fresh["lease"]["expires_at"].endswith("Z") and again["lease"] == fresh["lease"]
    events = client.get(f"/api/v1/audit?lane=user:{owner.user_id}", headers=owner.headers).json()
    assert [e["at"][-1] for e in events] == ["Z", "Z"]
    assert _when(events[0]["at"]) < _when(fresh["lease"]["expires_at"])
    with rt.db.session(write=False) as s:
        assert audit.verify(s) == {"acme": []}


def test_an_item_that_does_not_open_fails_the_call_on_both(
    client: TestClient, owner: Person, rt: Runtime
) -> None:
    """Sealed item data bound to another row (its content hash is in the associated data) does
    not open: ``next`` fails on both databases, every time, and the audit chain stays intact. On
    PostgreSQL the item is opened after ``lh_next``'s commit, so the lease and its handout event
    stay (docs/architecture.md, "The next function on PostgreSQL"); on SQLite they roll back."""
    pid = _project(client, owner, [{"text": "a"}, {"text": "b"}])
    _sql(
        rt,
        "UPDATE items SET data = (SELECT data FROM items WHERE project_id = :p ORDER BY id DESC LIMIT 1) "
        "WHERE id = (SELECT MIN(id) FROM items WHERE project_id = :p)",
        {"p": pid},
    )
    for _ in range(2):  # refused as data that does not open (Tampered), the same each time
        assert client.post(f"/api/v1/projects/{pid}/next", headers=owner.headers).status_code == 503
    kept = _sql(rt, "SELECT count(*) FROM leases WHERE project_id = :p", {"p": pid})
    assert kept == ([(1,)] if not rt.db.is_sqlite else [(0,)])
    with rt.db.session(write=False) as s:
        assert audit.verify(s) == {"acme": []}


def test_no_gold_at_a_zero_gold_rate(client: TestClient, owner: Person) -> None:
    """Gold is drawn only when the rate is above zero: at zero, gold tasks are never handed."""
    pid = _project(
        client, owner, [{"data": {"text": "g"}, "gold": {"label": "pos"}}, {"text": "t"}], gold_rate=0.0
    )
    h = _next(client, owner, pid)
    assert _text(h) == "t"
    _submit(client, owner, h)
    assert _next(client, owner, pid) is None
