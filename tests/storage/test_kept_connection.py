"""SQLite: the server's event loop runs its raw units of work on a connection of its own
(``Database.keep_connection``), not on one checked out of the pool and back in each time."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from labelhouse.api.app import create_app
from labelhouse.runtime import Runtime
from labelhouse.storage.database import Database
from tests.conftest import CHOICES_SCHEMA, make_person


def _count_checkouts(db: Database) -> list[int]:
    seen: list[int] = []
    event.listen(db.engine, "checkout", lambda *_: seen.append(threading.get_ident()))
    return seen


def _table(db: Database) -> None:
    with db.raw() as raw:
        raw.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)", {})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A database with table ``t`` whose test thread keeps its own connection."""
    database = Database(f"sqlite:///{tmp_path / 'lh.db'}")
    try:
        _table(database)
        database.keep_connection()
        yield database
    finally:
        database.dispose()


def test_units_of_work_reuse_the_kept_connection_and_skip_the_pool(db: Database) -> None:
    checkouts = _count_checkouts(db)
    drivers = set()
    for n in range(5):
        with db.raw() as raw:
            raw.execute("INSERT INTO t (k, n) VALUES (:k, :n)", {"k": f"k{n}", "n": n})
            drivers.add(id(raw._conn))
    with db.raw(write=False) as raw:
        assert raw.first("SELECT COUNT(*) FROM t", {}) == (5,)
    assert checkouts == [] and len(drivers) == 1
    # committed for every other connection to see
    with db.session(write=False) as s:
        assert s.connection().exec_driver_sql("SELECT SUM(n) FROM t").scalar() == 10


def test_a_failed_unit_rolls_back_and_the_connection_goes_on(db: Database) -> None:
    with pytest.raises(RuntimeError), db.raw() as raw:
        raw.execute("INSERT INTO t (k, n) VALUES ('gone', 1)", {})
        raise RuntimeError("the service refused")
    with db.raw() as raw:
        assert raw.first("SELECT COUNT(*) FROM t", {}) == (0,)
        raw.execute("INSERT INTO t (k, n) VALUES ('kept', 2)", {})
    with db.raw(write=False) as raw:
        assert raw.all("SELECT k FROM t", {}) == [("kept",)]


def test_nested_units_and_other_threads_use_the_pool(db: Database) -> None:
    checkouts = _count_checkouts(db)
    with db.raw(write=False) as outer:
        with db.raw() as inner:  # the kept connection is busy: one from the pool
            assert inner._conn is not outer._conn
            inner.execute("INSERT INTO t (k, n) VALUES ('x', 1)", {})
    assert checkouts == [threading.get_ident()]

    def elsewhere() -> None:
        with db.raw() as raw:
            raw.execute("INSERT INTO t (k, n) VALUES ('y', 2)", {})

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert len(checkouts) == 2 and checkouts[1] == thread.ident
    db.release_connection()
    with db.raw(write=False) as raw:
        assert raw.first("SELECT COUNT(*) FROM t", {}) == (2,)
    assert len(checkouts) == 3  # released: the pool again


def test_the_server_loop_labels_without_pool_checkouts(sqlite_rt: Runtime) -> None:
    owner = make_person(sqlite_rt, "owner@acme.test")
    annotator = make_person(sqlite_rt, "ann@acme.test", role="annotator")
    with TestClient(create_app(sqlite_rt, run_jobs=False)) as client:
        r = client.post(
            "/api/v1/projects",
            json={"name": "p", "schema": CHOICES_SCHEMA, "overlap": 1},
            headers=owner.headers,
        )
        pid = r.json()["id"]
        body = b'{"text": "a"}\n{"text": "b"}\n{"text": "c"}'
        assert (
            client.post(f"/api/v1/projects/{pid}/items", content=body, headers=owner.headers).status_code
            == 201
        )
        client.post(
            f"/api/v1/projects/{pid}/next", headers=annotator.headers
        )  # the token is cached from here
        checkouts = _count_checkouts(sqlite_rt.db)
        for _ in range(2):
            handout = client.post(f"/api/v1/projects/{pid}/next", headers=annotator.headers).json()
            r = client.post(
                f"/api/v1/tasks/{handout['task']['id']}/annotations",
                json={
                    "answer": {"label": "pos"},
                    "lease_id": handout["lease"]["id"],
                    "idempotency_key": str(uuid.uuid4()),
                },
                headers=annotator.headers,
            )
            assert r.status_code == 201, r.text
        assert checkouts == []
    assert sqlite_rt.db._kept == {}  # given up when the app stopped
