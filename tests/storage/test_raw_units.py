"""The raw unit of work of the labeling loop: statements sent together (``Raw.defer``,
``Raw.batch``), the durability each call commits with, and pooled PostgreSQL connections the
server closed (replaced without a ping per checkout)."""

from __future__ import annotations

import contextvars
import time
import uuid
from datetime import timedelta

import psycopg
import pytest

from labelhouse.core.scope import enter_workspace
from labelhouse.runtime import Runtime
from labelhouse.services import annotations, queue
from labelhouse.services.clock import utcnow
from labelhouse.storage.database import Database
from labelhouse.storage.rawsql import Duplicate
from tests.conftest import make_project


def _scratch(rt: Runtime) -> None:
    with rt.db.raw() as db:
        db.execute("CREATE TABLE IF NOT EXISTS scratch (k TEXT PRIMARY KEY, n INTEGER)", {})
        db.execute("DELETE FROM scratch", {})


def test_deferred_statements_run_first_and_travel_with_the_commit(rt: Runtime) -> None:
    _scratch(rt)
    with rt.db.raw() as db:
        db.defer("INSERT INTO scratch (k, n) VALUES (:k, :n)", {"k": "a", "n": 1})
        # the deferred insert reaches the server before (PostgreSQL: with) this read
        assert db.first("SELECT n FROM scratch WHERE k = :k", {"k": "a"}) == (1,)
        rows = db.batch(
            [
                ("INSERT INTO scratch (k, n) VALUES (:k, :n)", {"k": "b", "n": 2}),
                ("SELECT k, n FROM scratch ORDER BY k", {}),
                ("UPDATE scratch SET n = n + 10 WHERE k = :k", {"k": "b"}),
                ("SELECT n FROM scratch WHERE k = :k", {"k": "b"}),
            ]
        )
        assert rows == [[], [("a", 1), ("b", 2)], [], [(12,)]]
        # the last statement of the unit of work is deferred: the commit takes it along
        db.defer("INSERT INTO scratch (k, n) VALUES (:k, :n)", {"k": "c", "n": 3})
    with rt.db.raw() as db:
        assert db.all("SELECT k, n FROM scratch ORDER BY k", {}) == [("a", 1), ("b", 12), ("c", 3)]


def test_a_deferred_duplicate_is_reported_and_nothing_of_the_unit_stays(rt: Runtime) -> None:
    _scratch(rt)
    with rt.db.raw() as db:
        db.execute("INSERT INTO scratch (k, n) VALUES ('a', 1)", {})
    with pytest.raises(Duplicate), rt.db.raw() as db:
        db.execute("INSERT INTO scratch (k, n) VALUES ('b', 2)", {})
        db.defer("INSERT INTO scratch (k, n) VALUES (:k, :n)", {"k": "a", "n": 9})
        db.execute("UPDATE scratch SET n = 5 WHERE k = 'a'", {})
    with rt.db.raw() as db:
        assert db.all("SELECT k, n FROM scratch ORDER BY k", {}) == [("a", 1)]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_next_commits_without_waiting_for_disk_and_submit_durably(rt: Runtime) -> None:
    """A handout lost in a PostgreSQL crash only returns a slot to the queue, so ``next`` does not
    wait for the WAL flush; an acknowledged annotation must survive, so ``submit`` always does."""
    actor, project_id = make_project(rt, ["a", "b"])

    def loop() -> None:
        enter_workspace(actor.workspace_id)  # as a request does: the scope is deferred too
        with rt.db.raw() as db:
            handout = queue.next_task(db, actor, project_id, now=utcnow(), skip_locked=True)
            assert handout is not None
            assert db.first("SHOW synchronous_commit", {}) == ("off",)
            assert db.first("SELECT current_setting('app.workspace_id', true)", {}) == (
                str(actor.workspace_id),
            )
        with rt.db.raw() as db:
            annotations.submit(
                db,
                actor,
                handout.task_id,
                {"label": "pos"},
                lease_id=handout.lease_id,
                idempotency_key=str(uuid.uuid4()),
                now=utcnow(),
                lock_rows=True,
            )
            assert db.first("SHOW synchronous_commit", {}) == ("on",)

    contextvars.copy_context().run(loop)
    with rt.db.raw() as db:
        assert db.all("SELECT state, done, leased FROM tasks ORDER BY id", {}) == [
            ("complete", 1, 0),
            ("open", 0, 0),
        ]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_claim_in_one_statement_and_the_expiry_sweep(rt: Runtime) -> None:
    """The PostgreSQL claim (one statement) keeps the queue's rules: the same lease while one is
    held, a second one only for a prefetch, an expired lease's slot back to the queue."""
    actor, project_id = make_project(rt, ["a", "b"])
    now = utcnow()
    with rt.db.raw() as db:
        first = queue.next_task(db, actor, project_id, now=now, skip_locked=True)
    with rt.db.raw() as db:
        again = queue.next_task(db, actor, project_id, now=now, skip_locked=True)
        second = queue.next_task(db, actor, project_id, now=now, prefetch=True, skip_locked=True)
    assert first is not None and again is not None and second is not None
    assert again.lease_id == first.lease_id and second.task_id != first.task_id
    assert first.item == {"text": "a"} and second.item == {"text": "b"}, (first.item, second.item)
    with rt.db.raw() as db:
        assert db.all("SELECT id, leased FROM tasks ORDER BY id", {}) == [
            (first.task_id, 1),
            (second.task_id, 1),
        ]
    queue._sweeps.clear()
    later = now + timedelta(days=30)
    with rt.db.raw() as db:
        # both leases expired: the sweep gives both slots back, then the first task is claimed again
        third = queue.next_task(db, actor, project_id, now=later, skip_locked=True)
    assert third is not None and third.task_id == first.task_id and third.lease_id == first.lease_id
    with rt.db.raw() as db:
        assert db.all("SELECT id, leased FROM tasks ORDER BY id", {}) == [
            (first.task_id, 1),
            (second.task_id, 0),
        ]
        assert db.all("SELECT task_id, state FROM leases ORDER BY task_id", {}) == [
            (first.task_id, "active"),
            (second.task_id, "expired"),
        ]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_pooled_connection_the_server_closed_is_replaced(rt: Runtime) -> None:
    db = Database(rt.settings.database_url, pool_size=1)
    try:
        with db.raw() as raw:
            first = raw.first("SELECT pg_backend_pid()", {})
        assert first is not None
        with psycopg.connect(rt.settings.database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first[0],))
        time.sleep(0.2)  # the server's goodbye reaches the pooled connection's socket
        with db.raw() as raw:
            second = raw.first("SELECT pg_backend_pid()", {})
        assert second is not None and second != first
        with db.session() as s:
            assert s.connection().exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        db.dispose()
