"""Task handouts in the audit log: every task `next` hands out is an event in the annotator's own
lane, written in the lease's transaction; `audit verify` checks every lane, `audit export` gives
them all; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.api.app import create_app
from labelhouse.cli.main import main
from labelhouse.runtime import Runtime
from labelhouse.security.audit import GENESIS, ChainedEvent, event_hash, find_breaks
from labelhouse.services import audit, queue
from labelhouse.services.accounts import actor_for
from labelhouse.services.clock import utcnow
from labelhouse.storage.database import Database
from labelhouse.storage.migrate import upgrade
from tests.conftest import CHOICES_SCHEMA, Person, make_person
from tests.live_server import serving


def _cli(rt: Runtime, *args: str) -> tuple[int, str]:
    extra = ["--data", str(rt.settings.data_dir)]
    if rt.settings.database_url:
        extra += ["--database-url", rt.settings.database_url]
    result = CliRunner().invoke(main, [*args, *extra])
    return result.exit_code, result.output


def _project(c: TestClient | httpx.Client, owner: Person, n: int, overlap: int = 1) -> int:
    pid = c.post(
        "/api/v1/projects",
        json={"name": "p", "schema": CHOICES_SCHEMA, "overlap": overlap},
        headers=owner.headers,
    ).json()["id"]
    r = c.post(
        f"/api/v1/projects/{pid}/items", json=[{"text": f"t{i}"} for i in range(n)], headers=owner.headers
    )
    assert r.json()["created"] == n
    return int(pid)


def _lane_rows(rt: Runtime, lane: str) -> list[tuple[Any, ...]]:
    with rt.db.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT seq, action, target, details, actor_id FROM audit_events WHERE lane = :l ORDER BY seq"
                ),
                {"l": lane},
            )
        ]


def _count(rt: Runtime) -> int:
    with rt.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM audit_events")).scalar_one())


def _details(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def test_next_records_each_handout_in_the_annotators_lane(rt: Runtime) -> None:
    owner = make_person(rt, "owner@acme.test")
    ann = make_person(rt, "ann@acme.test", role="annotator")
    lane = f"user:{ann.user_id}"
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pid = _project(c, owner, 3)
        first = c.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).json()  # the fast lane
        again = c.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).json()  # same lease again
        prefetched = c.post(
            f"/api/v1/projects/{pid}/next", json={"prefetch": True}, headers=ann.headers
        ).json()
        assert again["lease"]["id"] == first["lease"]["id"] != prefetched["lease"]["id"]
        # the ordinary service path (a Session, not the raw connection) records the same way
        with rt.db.session() as s:
            actor = actor_for(s, ann.workspace_id, ann.user_id)
            assert queue.next_task(s, actor, pid, now=utcnow()) is not None

        events = c.get(f"/api/v1/audit?lane={lane}", headers=owner.headers).json()
        main_lane = c.get("/api/v1/audit", headers=owner.headers).json()
        assert c.get(f"/api/v1/audit?lane={lane}", headers=ann.headers).status_code == 403
        bad = c.get("/api/v1/audit?lane=everyone", headers=owner.headers)
        assert bad.status_code == 422 and "lane" in bad.text
        assert c.get(f"/api/v1/audit?lane=user:{owner.user_id}", headers=owner.headers).json() == []

    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert {e["action"] for e in events} == {"task_handout"} and {e["lane"] for e in events} == {lane}
    assert [e["target"] for e in events[:3]] == [
        f"item:{first['task']['item_id']}",
        f"item:{first['task']['item_id']}",
        f"item:{prefetched['task']['item_id']}",
    ]
    assert events[0]["details"] == {
        "project": pid,
        "task": first["task"]["id"],
        "lease": first["lease"]["id"],
    }
    assert events[1]["details"]["again"] is True and "again" not in events[2]["details"]
    assert events[0]["actor"] == "ann@acme.test" and events[0]["actor_id"] == ann.user_id
    assert events[1]["prev_hash"] == events[0]["hash"] and events[0]["prev_hash"] == GENESIS
    assert "task_handout" not in {e["action"] for e in main_lane} and {e["lane"] for e in main_lane} == {
        "main"
    }
    code, out = _cli(rt, "audit", "verify")
    assert code == 0 and "acme: intact (" in out and "2 lanes" in out


def _broken(self: object) -> None:
    raise RuntimeError("disk full")


def test_a_rolled_back_next_leaves_no_handout(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = make_person(rt, "owner@acme.test")
    ann = make_person(rt, "ann@acme.test", role="annotator")
    lane = f"user:{ann.user_id}"
    with TestClient(create_app(rt, run_jobs=False), raise_server_exceptions=False) as c:
        pid = _project(c, owner, 2)
        monkeypatch.setattr(Database, "_commit_raw", staticmethod(_broken))
        assert c.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).status_code == 500
        monkeypatch.undo()
    assert _lane_rows(rt, lane) == []
    with rt.db.session() as s:
        actor = actor_for(s, ann.workspace_id, ann.user_id)
    with pytest.raises(RuntimeError, match="after the handout"), rt.db.raw() as db:
        assert queue.next_task(db, actor, pid, now=utcnow()) is not None
        raise RuntimeError("after the handout")
    assert _lane_rows(rt, lane) == []
    with rt.db.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM leases")).scalar() == 0
    with rt.db.raw() as db:  # and a committed one is there, numbered 1
        queue.next_task(db, actor, pid, now=utcnow())
    assert [r[0] for r in _lane_rows(rt, lane)] == [1]


def _handouts(rt: Runtime) -> tuple[Person, Person, Person]:
    owner = make_person(rt, "owner@acme.test")
    a = make_person(rt, "a@acme.test", role="annotator")
    b = make_person(rt, "b@acme.test", role="annotator")
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pid = _project(c, owner, 8)
        for person in (a, b):
            for _ in range(4):
                h = c.post(f"/api/v1/projects/{pid}/next", headers=person.headers).json()
                c.post(f"/api/v1/leases/{h['lease']['id']}/release", headers=person.headers)
    return owner, a, b


def _sql(rt: Runtime, sql: str, **params: Any) -> None:
    with rt.db.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_verify_finds_an_edited_deleted_reordered_or_moved_handout(rt: Runtime) -> None:
    _owner, a, b = _handouts(rt)
    la, lb = f"user:{a.user_id}", f"user:{b.user_id}"
    assert _cli(rt, "audit", "verify", "--workspace", "acme")[0] == 0

    # edited: someone else saw that item
    _sql(rt, "UPDATE audit_events SET target = 'item:999' WHERE lane = :l AND seq = 2", l=la)
    code, out = _cli(rt, "audit", "verify")
    assert code == 10 and f"lane {la}: BROKEN" in out and "event 2: its content does not match" in out
    assert f"lane {lb}: BROKEN" not in out and "lane main: BROKEN" not in out
    _sql(rt, "DELETE FROM audit_events WHERE lane = :l AND seq = 2", l=la)  # deleted
    code, out = _cli(rt, "audit", "verify")
    assert code == 10 and "event 3: expected sequence number 2" in out

    # reordered: events 2 and 3 of b's lane swap places (numbers and all)
    _sql(rt, "UPDATE audit_events SET seq = 100 WHERE lane = :l AND seq = 2", l=lb)
    _sql(rt, "UPDATE audit_events SET seq = 2 WHERE lane = :l AND seq = 3", l=lb)
    _sql(rt, "UPDATE audit_events SET seq = 3 WHERE lane = :l AND seq = 100", l=lb)
    code, out = _cli(rt, "audit", "verify")
    assert code == 10 and f"lane {lb}: BROKEN" in out and "event 2: does not follow" in out

    # moved: b's whole lane passed off as the owner's views (a lane's hashes cover its name)
    _sql(rt, "UPDATE audit_events SET lane = :to WHERE lane = :l", to=f"user:{_owner.user_id}", l=lb)
    code, out = _cli(rt, "audit", "verify")
    assert code == 10 and f"lane user:{_owner.user_id}: BROKEN" in out and "(moved)" in out


def test_export_gives_every_lane_in_order_and_a_siem_can_check_it(rt: Runtime, tmp_path: Path) -> None:
    owner, a, b = _handouts(rt)
    target = tmp_path / "audit.jsonl"
    assert _cli(rt, "audit", "export", "--workspace", "acme", "--out", str(target))[0] == 0
    lines = [orjson.loads(x) for x in target.read_bytes().splitlines()]
    lanes = [e["lane"] for e in lines]
    expected = ["main"] * lanes.count("main") + [f"user:{a.user_id}"] * 4 + [f"user:{b.user_id}"] * 4
    assert lanes == expected and lanes.count("main") >= 3
    with rt.db.engine.connect() as conn:
        assert len(lines) == conn.execute(text("SELECT COUNT(*) FROM audit_events")).scalar()
    by_lane: dict[str, list[ChainedEvent]] = defaultdict(list)
    for e in lines:  # an outside checker needs nothing but the file and security/audit.py's rule
        fields = {k: e[k] for k in ("seq", "at", "actor_id", "actor", "action", "target", "details")}
        by_lane[e["lane"]].append(
            ChainedEvent(**fields, prev_hash=e["prev_hash"], hash=e["hash"], lane=e["lane"])
        )
    assert all(find_breaks(events) == [] for events in by_lane.values())
    one = by_lane[f"user:{a.user_id}"][0]
    assert one.hash == event_hash(
        GENESIS, 1, one.at, a.user_id, "a@acme.test", "task_handout", one.target, one.details, one.lane
    )
    assert owner.email in {e.actor for e in by_lane["main"]}


def test_lanes_keep_the_main_chain_of_an_older_database(backend: str, tmp_path: Path, request: Any) -> None:
    """Migration 0012 on a database with a chain written before lanes: it verifies unchanged."""
    if backend == "postgresql":
        base = request.getfixturevalue("pg_database").rsplit("/", 1)[0]
        name = f"lh_lanes_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")
    else:
        url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    try:
        upgrade(db, "0010")
        prev, rows = GENESIS, []
        for seq in (1, 2, 3):
            at = datetime(2026, 1, 1, 0, 0, seq, tzinfo=UTC)
            h = event_hash(
                prev, seq, f"2026-01-01T00:00:0{seq}.000000Z", 1, "o@x", "login", "user:1", {"n": seq}
            )
            rows.append({"seq": seq, "at": at, "prev": prev, "hash": h, "d": f'{{"n": {seq}}}'})
            prev = h
        details = "CAST(:d AS JSONB)" if backend == "postgresql" else ":d"
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO workspaces (name, created_at) VALUES ('old', CURRENT_TIMESTAMP)"))
            for row in rows:
                conn.execute(
                    text(
                        "INSERT INTO audit_events (workspace_id, seq, at, actor_id, actor, action, target, "
                        f"details, prev_hash, hash) VALUES (1, :seq, :at, 1, 'o@x', 'login', 'user:1', {details}, :prev, :hash)"
                    ),
                    row,
                )
        upgrade(db)
        with db.session(write=False) as s:
            assert audit.verify(s) == {"old": []}
            assert [e.lane for e in audit.iter_log(s, 1)] == ["main"] * 3
    finally:
        db.dispose()
        if backend == "postgresql":
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ANNOTATORS = 16
TASKS = 64


def test_many_annotators_at_once_every_lane_verifies_and_none_is_lost(rt: Runtime) -> None:
    """16 annotators over real HTTP from real threads, each also with a second tab asking `next`
    at the same moment (two requests racing for the end of one lane): one event per 200 answer."""
    owner = make_person(rt, "owner@acme.test")
    people = [make_person(rt, f"a{i}@acme.test", role="annotator") for i in range(ANNOTATORS)]
    answered: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    with serving(rt) as url:
        with httpx.Client(base_url=url) as c:
            pid = _project(c, owner, TASKS, overlap=2)
        barrier = threading.Barrier(ANNOTATORS * 2)

        def tab(person: Person, submits: bool) -> None:
            with httpx.Client(base_url=url, headers=person.headers, timeout=60) as c:
                barrier.wait()
                for _ in range(TASKS + 5):
                    r = c.post(f"/api/v1/projects/{pid}/next")
                    if r.status_code == 204:
                        return
                    if r.status_code != 200:
                        errors.append(f"next {r.status_code} {r.text}")
                        return
                    with lock:
                        answered[person.user_id] += 1
                    if not submits:
                        if answered[person.user_id] > 40:
                            return
                        continue
                    h = r.json()
                    s = c.post(
                        f"/api/v1/tasks/{h['task']['id']}/annotations",
                        json={
                            "answer": {"label": "pos"},
                            "lease_id": h["lease"]["id"],
                            "idempotency_key": str(uuid.uuid4()),
                        },
                    )
                    if s.status_code not in (200, 201, 409):
                        errors.append(f"submit {s.status_code} {s.text}")

        threads = [threading.Thread(target=tab, args=(p, k == 0)) for p in people for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert not errors, errors[:5]
    with rt.db.session(write=False) as s:
        checks = audit.verify_lanes(s)["acme"]
    # An annotator whose tabs only ever found the queue empty (slow thread start) has no lane.
    assert len(answered) > ANNOTATORS // 2
    assert {lane for lane in checks if lane != "main"} == {f"user:{user}" for user in answered}
    assert all(not check.problems for check in checks.values()), {
        k: v.problems[:3] for k, v in checks.items()
    }
    assert {int(lane[5:]): check.events for lane, check in checks.items() if lane != "main"} == dict(answered)
    with rt.db.engine.connect() as conn:
        leased = conn.execute(text("SELECT user_id, task_id FROM leases")).all()
        shown = conn.execute(
            text("SELECT actor_id, details FROM audit_events WHERE action = 'task_handout'")
        ).all()
    assert {(u, t) for u, t in leased} == {(u, _details(d)["task"]) for u, d in shown}


def test_file_views_item_pages_reviews_and_refused_reads_go_to_the_readers_lane(rt: Runtime) -> None:
    from tests.api.test_signed_files import BOX_SCHEMA, _zip

    owner = make_person(rt, "owner@acme.test")
    ann = make_person(rt, "ann@acme.test", role="annotator")
    other = make_person(rt, "mallory@other.test", workspace="other")
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pid = c.post(
            "/api/v1/projects", json={"name": "b", "schema": BOX_SCHEMA}, headers=owner.headers
        ).json()["id"]
        assert (
            c.post(f"/api/v1/projects/{pid}/items", content=_zip(), headers=owner.headers).json()["created"]
            == 2
        )
        h = c.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).json()
        item = h["task"]["item_id"]
        assert c.get(h["task"]["item"]["image"]["url"]).status_code == 200  # the signed URL
        page = c.get(f"/api/v1/projects/{pid}/items?limit=1", headers=owner.headers).json()
        done = c.post(
            f"/api/v1/tasks/{h['task']['id']}/annotations",
            json={"answer": {"objects": []}, "lease_id": h["lease"]["id"], "idempotency_key": "k1"},
            headers=ann.headers,
        )
        assert done.status_code == 201, done.text
        review = c.post(f"/api/v1/projects/{pid}/review/next", headers=owner.headers)
        assert review.status_code == 200, review.text
        review = review.json()
        # refused: a file without a lease, another workspace's file and item list, a role's 403
        assert c.get(f"/api/v1/items/{item}/files/image", headers=ann.headers).status_code == 404
        assert c.get(f"/api/v1/items/{item}/files/image", headers=other.headers).status_code == 404
        assert c.get(f"/api/v1/projects/{pid}/items", headers=other.headers).status_code == 404
        assert c.get(f"/api/v1/projects/{pid}/items", headers=ann.headers).status_code == 403
        before = _count(rt)
        assert c.get(f"/api/v1/items/{item}/files/image").status_code == 401  # no actor: nothing to record
        assert _count(rt) == before
        mine = c.get(f"/api/v1/audit?lane=user:{ann.user_id}", headers=owner.headers).json()
        boss = c.get(f"/api/v1/audit?lane=user:{owner.user_id}", headers=owner.headers).json()
        theirs = c.get(f"/api/v1/audit?lane=user:{other.user_id}", headers=other.headers).json()
        main_lane = c.get("/api/v1/audit?limit=1000", headers=owner.headers).json()

    assert [(e["action"], e["target"]) for e in mine] == [
        ("task_handout", f"item:{item}"),
        ("asset_viewed", f"item:{item}"),
        ("read_denied", f"item:{item}"),
        ("read_denied", f"project:{pid}"),
    ]
    assert mine[2]["details"] == {"route": "file", "status": 404} and mine[3]["details"]["status"] == 403
    assert [(e["action"], e["details"]) for e in boss] == [
        ("items_viewed", {"project": pid, "first": page[0]["id"], "last": page[0]["id"], "count": 1}),
        ("review_handout", {"project": pid, "task": review["task"]["id"]}),
    ]
    assert [e["action"] for e in theirs] == ["read_denied", "read_denied"]  # in their own workspace's log
    assert not {"asset_viewed", "read_denied", "items_viewed"} & {e["action"] for e in main_lane}
    code, out = _cli(rt, "audit", "verify")
    assert code == 0 and "acme: intact (" in out and "other: intact (" in out


def test_a_wrong_guess_at_a_lanes_head_appends_after_the_real_one(rt: Runtime) -> None:
    """The process remembers each lane's last event; when another process appended since (the
    guess is behind) or the transaction rolled back (a guess of an event that is not there), the
    append changes nothing and the real head is read."""
    owner = make_person(rt, "owner@acme.test")
    with rt.db.session() as s:
        actor = actor_for(s, owner.workspace_id, owner.user_id)
    key = (actor.workspace_id, f"user:{actor.user_id}")
    guesses = [None, (0, GENESIS), (99, "f" * 64), None]
    for n, guess in enumerate(guesses):
        if guess is None:
            audit._heads.pop(key, None)
        else:
            audit._heads[key] = guess
        with rt.db.session() as s:
            audit.record_in_lane(s, actor, "items_viewed", "project:1", {"n": n}, now=utcnow())
    rows = _lane_rows(rt, key[1])
    assert [(r[0], _details(r[3])["n"]) for r in rows] == [(1, 0), (2, 1), (3, 2), (4, 3)]
    with rt.db.session(write=False) as s:
        assert audit.verify(s) == {"acme": []}
