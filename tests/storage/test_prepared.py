"""The hot path's statements on PostgreSQL: prepared once per connection, run by ``EXECUTE`` with
values written by ``storage/prepared.literal``; the same statements on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text

from labelhouse.core.errors import Conflict
from labelhouse.runtime import Runtime
from labelhouse.storage.prepared import numbered, statements_of

TRICKY = [
    "plain",
    "it's",
    "back\\slash \\' and ''",
    "E'x'); DROP TABLE scratch; --",
    "ünïcødé 日本語 😀",
    "",
    "$1 :name %(x)s %s",
]


def _scratch(rt: Runtime) -> None:
    with rt.db.raw() as db:
        db.execute("CREATE TABLE IF NOT EXISTS scratch (k TEXT PRIMARY KEY, n INTEGER)", {})
        db.execute("DELETE FROM scratch", {})


def test_values_round_trip_through_prepared_statements(rt: Runtime) -> None:
    _scratch(rt)
    when = datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC)
    with rt.db.raw() as db:
        for i, text in enumerate(TRICKY):
            db.execute("INSERT INTO scratch (k, n) VALUES (:k, :n)", {"k": text, "n": i})
        assert db.all("SELECT k FROM scratch ORDER BY n", {}) == [(t,) for t in TRICKY]
        for text in TRICKY:
            assert db.first("SELECT n FROM scratch WHERE k = :k", {"k": text}) == (TRICKY.index(text),)
        row = db.first(
            "SELECT CAST(:b AS BOOLEAN), CAST(:f AS DOUBLE PRECISION), CAST(:z AS INTEGER), CAST(:big AS BIGINT)",
            {"b": False, "f": 0.1, "z": None, "big": 2**62},
        )
        assert row is not None and (bool(row[0]), row[1], row[2], row[3]) == (False, 0.1, None, 2**62)
    if rt.db.is_sqlite:
        return
    with rt.db.raw() as db:
        infinite = db.first("SELECT CAST(:f AS DOUBLE PRECISION)", {"f": float("inf")})
        assert infinite == (float("inf"),)
        times = db.first(
            "SELECT CAST(:t AS TIMESTAMP WITH TIME ZONE), CAST(:n AS TIMESTAMP WITHOUT TIME ZONE)",
            {"t": when, "n": when.replace(tzinfo=None)},
        )
        assert times == (when, when.replace(tzinfo=None))
        with pytest.raises(psycopg.DataError):  # PostgreSQL text cannot hold NUL; psycopg refuses it
            db.first("SELECT CAST(:k AS TEXT)", {"k": "a\0b"})


@pytest.mark.parametrize("backend", ["postgresql"])  # PostgreSQL's prepared statements only
def test_statements_are_prepared_once_per_connection_and_survive_a_rollback(rt: Runtime) -> None:
    _scratch(rt)
    sql = "SELECT n FROM scratch WHERE k = :k"
    for _ in range(8):
        with rt.db.session() as s:  # ORM statements on the same pooled connection
            s.execute(text("SELECT 1")).all()
    with rt.db.raw() as db:
        db.execute("INSERT INTO scratch (k, n) VALUES (:k, :n)", {"k": "a", "n": 1})
        assert db.first(sql, {"k": "a"}) == (1,)
    with pytest.raises(RuntimeError), rt.db.raw() as db:
        db.first(sql, {"k": "a"})
        raise RuntimeError("roll back")
    with rt.db.session() as s:
        s.rollback()  # psycopg's own rollback would drop them all if it prepared statements itself
    conn = rt.db.engine.raw_connection()
    try:
        prepared = statements_of(conn.driver_connection).by_sql
        assert prepared.get(sql) is not None
        cur = conn.driver_connection.cursor()
        cur.execute("SELECT statement FROM pg_prepared_statements")
        on_server = {row[0] for row in cur.fetchall()}
        assert any(numbered(sql)[0] in statement for statement in on_server)
    finally:
        conn.close()
    with rt.db.raw() as db:
        assert db.first(sql, {"k": "a"}) == (1,)


def test_a_statement_that_cannot_be_prepared_is_sent_as_text_and_the_unit_goes_on(rt: Runtime) -> None:
    _scratch(rt)
    with rt.db.raw() as db:
        db.execute("INSERT INTO scratch (k, n) VALUES (:k, :n)", {"k": "a", "n": 1})
        # PostgreSQL cannot type ``unknown + unknown`` when preparing; the values bound as text can
        assert db.first("SELECT :a + :b", {"a": 5, "b": 6}) == (11,)
        assert db.first("SELECT n FROM scratch WHERE k = :k", {"k": "a"}) == (1,)
    with rt.db.raw() as db:
        assert db.all("SELECT k, n FROM scratch", {}) == [("a", 1)]


def test_a_refusal_that_comes_with_the_commit_keeps_its_meaning(rt: Runtime) -> None:
    _scratch(rt)
    with rt.db.raw() as db:
        db.execute("INSERT INTO scratch (k, n) VALUES ('a', 1)", {})
    with pytest.raises(Conflict), rt.db.raw() as db:
        db.execute("INSERT INTO scratch (k, n) VALUES ('b', 2)", {})
        db.defer("INSERT INTO scratch (k, n) VALUES ('a', 3)", {}, refused=Conflict("key taken"))
        db.defer("UPDATE scratch SET n = n + 1 WHERE k = 'b'", {})
    with rt.db.raw() as db:
        assert db.all("SELECT k, n FROM scratch ORDER BY k", {}) == [("a", 1)]
