"""PostgreSQL's ``lh_next`` (migration 0013): ``next`` as one statement, and the unit of work
that takes its commit along (``Raw.last``). The queue's rules themselves are pinned by the tests
that run on both databases (tests/services/test_queue.py, tests/api/...); these pin what is
particular to the function: its refusals, its audit appends beside the Python ones, the commit
in the same message."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Conflict, Forbidden, NotFound
from labelhouse.runtime import Runtime
from labelhouse.security.audit import GENESIS, event_fields_json, event_hash
from labelhouse.services import annotations, audit, pauses, queue
from labelhouse.services.accounts import actor_for
from labelhouse.services.clock import utcnow
from tests.conftest import make_person, make_project

PG = pytest.mark.parametrize("backend", ["postgresql"])


def _setup(rt: Runtime, n: int = 2) -> tuple[Actor, int]:
    return make_project(rt, [f"t{i}" for i in range(n)])


def _lane(rt: Runtime, actor: Actor) -> list[tuple[int, str, str]]:
    with rt.db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq, action, target FROM audit_events WHERE lane = :l ORDER BY seq"),
            {"l": f"user:{actor.user_id}"},
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_migration_makes_the_function_on_postgresql_only(rt: Runtime) -> None:
    with rt.db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0013"
        if rt.db.is_sqlite:
            return
        args = conn.execute(
            text("SELECT pg_get_function_identity_arguments(oid) FROM pg_proc WHERE proname = 'lh_next'")
        ).all()
    assert len(args) == 1 and args[0][0].startswith("p_w bigint, p_p bigint, p_u bigint")


def test_the_fields_text_is_what_event_hash_covers() -> None:
    """The function hashes ``[seq, <fields>, target, details, lane]`` as text; the same event
    hashed by ``event_hash`` gives the same digest, escapes and all."""
    import hashlib

    email = 'zoë "q" \\ <x>@acme.test'
    fields = event_fields_json("2026-12-07T02:00:00.000001Z", 7, email, "task_handout")
    body = f'[3,{fields},"item:9",{{"again":true,"lease":5,"project":2,"task":4}},"user:7"]'
    details = {"project": 2, "task": 4, "lease": 5, "again": True}
    expected = event_hash(
        GENESIS, 3, "2026-12-07T02:00:00.000001Z", 7, email, "task_handout", "item:9", details, "user:7"
    )
    assert hashlib.sha256(GENESIS.encode() + b"\n" + body.encode()).hexdigest() == expected


@PG
def test_next_refuses_a_missing_project_and_a_paused_annotator_writing_nothing(rt: Runtime) -> None:
    owner, pid = _setup(rt)
    with pytest.raises(NotFound), rt.db.raw() as db:
        queue.next_task(db, owner, pid + 100, now=utcnow(), skip_locked=True)
    with rt.db.session() as s:
        pauses.pause(s, owner, pid, owner.user_id, reason="too fast", now=utcnow())
    queue._sweeps.clear()
    with pytest.raises(Forbidden, match="too fast"), rt.db.raw() as db:
        queue.next_task(db, owner, pid, now=utcnow(), skip_locked=True)
    assert pid not in queue._sweeps  # refused before its sweep: the sweep is still due
    with rt.db.raw() as db:
        assert db.all("SELECT count(*) FROM leases", {}) == [(0,)]
    assert [a for _s, a, _t in _lane(rt, owner)] == []


@PG
def test_no_work_is_none_and_records_no_handout(rt: Runtime) -> None:
    owner, pid = _setup(rt, n=1)
    other = make_person(rt, "other@acme.test", role="annotator")
    with rt.db.session() as s:
        them = actor_for(s, other.workspace_id, other.user_id)
    with rt.db.raw() as db:
        assert queue.next_task(db, owner, pid, now=utcnow(), skip_locked=True) is not None
    with rt.db.raw() as db:  # the one slot is leased
        assert queue.next_task(db, them, pid, now=utcnow(), skip_locked=True) is None
    assert _lane(rt, them) == []
    assert len(_lane(rt, owner)) == 1


@PG
def test_the_commit_travels_with_the_last_statement(rt: Runtime) -> None:
    """``Database.raw(last_commits=True)``: ``next`` commits in its one message; a statement after
    it is a programming error, not a statement outside any transaction."""
    owner, pid = _setup(rt)
    with rt.db.raw(last_commits=True) as db:
        handout = queue.next_task(db, owner, pid, now=utcnow(), skip_locked=True)
        assert handout is not None
        with pytest.raises(RuntimeError, match="ended"):
            db.first("SELECT 1", {})
    with rt.db.raw() as db:
        assert db.all("SELECT id, state FROM leases", {}) == [(handout.lease_id, "active")]
    # without the option the same call leaves the commit to the end of the block
    with rt.db.raw() as db:
        again = queue.next_task(db, owner, pid, now=utcnow(), skip_locked=True)
        assert again is not None and again.lease_id == handout.lease_id
        assert db.first("SHOW synchronous_commit", {}) == ("off",)


@PG
def test_function_and_python_appends_share_one_lane_and_it_verifies(rt: Runtime) -> None:
    """Handouts appended by ``lh_next`` (head read in the database) and events appended by
    ``record_in_lane`` (head guessed by this process) interleave in one lane without a gap, and
    the chain verifies, with an actor whose name needs JSON escaping."""
    owner, pid = _setup(rt, n=4)
    odd = Actor(owner.user_id, owner.workspace_id, owner.role, email='zoë "q" \\ b@acme.test')
    now = utcnow()
    for n in range(3):
        with rt.db.raw(last_commits=True) as db:
            handout = queue.next_task(db, odd, pid, now=now, skip_locked=True)
        assert handout is not None
        with rt.db.session() as s:
            audit.record_in_lane(s, odd, "asset_viewed", f"item:{handout.item_id}", {"n": n}, now=now)
        if n < 2:
            with rt.db.raw() as db:
                annotations.submit(
                    db,
                    odd,
                    handout.task_id,
                    {"label": "pos"},
                    lease_id=handout.lease_id,
                    idempotency_key=str(uuid.uuid4()),
                    now=now,
                    lock_rows=True,
                )
    with rt.db.raw() as db:  # the same lease again: a handout marked "again"
        assert queue.next_task(db, odd, pid, now=now + timedelta(seconds=1), skip_locked=True) is not None
    lane = _lane(rt, odd)
    assert [(seq, action) for seq, action, _t in lane] == [
        (1, "task_handout"),
        (2, "asset_viewed"),
        (3, "task_handout"),
        (4, "asset_viewed"),
        (5, "task_handout"),
        (6, "asset_viewed"),
        (7, "task_handout"),
    ]
    with rt.db.engine.connect() as conn:
        details = conn.execute(
            text("SELECT details FROM audit_events WHERE lane = :l AND seq = 7"), {"l": f"user:{odd.user_id}"}
        ).scalar()
    assert details["again"] is True
    with rt.db.session(write=False) as s:
        assert audit.verify(s) == {"acme": []}


@PG
def test_a_lane_it_cannot_append_to_fails_the_whole_next(rt: Runtime) -> None:
    """Twenty lost appends (here a trigger swallows every insert into the audit log, as a lane
    whose number is always taken would) fail the call with 409, and the lease goes with it: a
    handout is never kept without its event."""
    owner, pid = _setup(rt)
    with rt.db.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION lh_test_swallow() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RETURN NULL; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER lh_test_swallow BEFORE INSERT ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION lh_test_swallow()"
            )
        )
    try:
        with pytest.raises(Conflict, match="too many of your requests"), rt.db.raw(last_commits=True) as db:
            queue.next_task(db, owner, pid, now=utcnow(), skip_locked=True)
    finally:
        with rt.db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER lh_test_swallow ON audit_events"))
            conn.execute(text("DROP FUNCTION lh_test_swallow()"))
    with rt.db.raw() as db:
        assert db.all("SELECT count(*) FROM leases", {}) == [(0,)]
        assert db.all("SELECT sum(leased) FROM tasks", {}) == [(0,)]
    with rt.db.raw(last_commits=True) as db:  # and the next call, with the log back, works
        assert queue.next_task(db, owner, pid, now=utcnow(), skip_locked=True) is not None
    assert len(_lane(rt, owner)) == 1
