"""Hand-written SQL straight on the DBAPI connection of a unit of work: the queue's hot path.

SQLAlchemy's statement machinery costs tens of microseconds a statement, which is most of the
time of a ``next`` or a ``submit``; the queue runs a dozen fixed statements per call, so they go to
the driver directly, inside the same transaction as the rest of the unit of work. Statements are
written once with ``:name`` placeholders (sqlite3's style) and translated for psycopg.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy.orm import Session

from labelhouse.storage.prepared import NAMED, Prepared, Statements, plannable, statements_of


@lru_cache(maxsize=256)
def _to_pyformat(sql: str) -> str:
    return NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


def sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy's DateTime stores on SQLite (naive UTC, 6-digit microseconds), so
    times bound in raw SQL compare correctly with times the ORM wrote."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    if value.year < 1000:  # isoformat pads the year to 4 digits, strftime does not
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    # The same text as strftime in half the time (the hot path formats several times a call);
    # [:26] drops an aware time's "+00:00".
    return value.isoformat(" ", "microseconds")[:26]


def json_value(value: Any) -> Any:
    """A JSON column as read: SQLite's driver hands raw SQL its text, psycopg the decoded value."""
    if isinstance(value, str | bytes):
        return orjson.loads(value)
    return value


class Duplicate(Exception):
    """A unique constraint refused a row (the driver's IntegrityError, whichever driver)."""


def _integrity_errors(postgres: bool) -> tuple[type[BaseException], ...]:
    if postgres:
        import psycopg

        return (psycopg.IntegrityError,)
    import sqlite3

    return (sqlite3.IntegrityError,)


Statement = tuple[str, dict[str, Any]]


class Raw:
    """A driver connection inside a transaction: a session's, or one from ``Database.raw()``.

    On PostgreSQL every statement costs a round trip to the server, and in a threaded server each
    wait for the server also gives up the GIL and has to win it back, which under load costs more
    than the statement itself. So what does not need a round trip of its own rides with the next
    one:

    * ``Database.raw()`` leaves the ``BEGIN`` to this object (the connection is in autocommit
      mode), which sends it together with the first statement;
    * ``set_local``: the transaction's settings (its workspace scope, its durability) become one
      ``set_config`` statement, sent with the next statement;
    * ``defer``: a statement whose rows nobody reads goes out with the next statement or the
      commit (over an ORM session's connection, whose commit is the session's, at once);
    * ``batch``: statements that do not depend on each other's results go out together.

    What goes out together is one message of the simple query protocol, so one round trip and one
    wait. In ``Database.raw()`` every statement goes that way, as ``EXECUTE`` of its prepared form
    (storage/prepared.py); over an ORM session's connection the values are bound in by psycopg
    (``ClientCursor``), and a statement with nothing pending goes alone with server-bound
    parameters (the bulk import's arrays). On SQLite, where statements are local calls, ``defer``
    and ``batch`` run in order and ``set_local`` does nothing.
    """

    __slots__ = (
        "_conn",
        "_pg",
        "_begin",
        "_deferred",
        "_settings",
        "_cursor",
        "_client",
        "_statements",
        "_refused",
        "_owns_commit",
        "_plain",
        "_commit_step",
        "_final",
        "_final_rows",
        "_ended",
        "sealer",
    )

    def __init__(
        self,
        dbapi_connection: Any,
        *,
        postgres: bool,
        sealer: Any = None,
        begin: bool = False,
        commit_step: Callable[[Raw], None] | None = None,
    ) -> None:
        self._conn = dbapi_connection
        self._pg = postgres
        self._begin = begin  # PostgreSQL, autocommit connection: BEGIN not sent yet
        self._owns_commit = begin  # Database.raw(): this object sends the COMMIT
        self._plain: Any = None  # PostgreSQL, a session's connection: the cursor of ``_run``
        self._deferred: list[Statement] = []
        self._settings: dict[str, str] = {}
        self._cursor: Any = None
        self._client: Any = None
        self._statements: Statements | None = None
        self._refused: Exception | None = None  # what a deferred statement's refusal means
        # ``Database.raw(last_commits=True)``: the unit of work's commit, which ``last`` runs
        self._commit_step = commit_step if begin else None
        self._final: Statement | None = None  # ``last``'s statement, sent with the COMMIT
        self._final_rows: list[tuple[Any, ...]] = []
        self._ended = False  # the COMMIT went with ``last``
        self.sealer = sealer  # the unit of work's Vault (see Database.sealer)

    @classmethod
    def of(cls, db: Session | Raw) -> Raw:
        """The raw connection of a unit of work, whichever kind the edge opened."""
        if isinstance(db, Raw):
            return db
        connection = db.connection()
        return cls(
            connection.connection.dbapi_connection,
            postgres=connection.dialect.name == "postgresql",
            sealer=db.info.get("sealer"),
        )

    @property
    def is_postgres(self) -> bool:
        return self._pg

    def timestamp(self, value: datetime) -> Any:
        """A datetime as this driver should get it in bulk (SQLite: the text form, made once)."""
        return value if self._pg else sqlite_datetime(value)

    def set_local(self, name: str, value: str) -> None:
        """PostgreSQL: a setting for the rest of this transaction (``set_config(name, value,
        true)``), sent with the next statement; several settings make one statement."""
        if self._pg:
            self._settings[name] = value

    def defer(self, sql: str, params: dict[str, Any], *, refused: Exception | None = None) -> None:
        """Run this statement with the next one (PostgreSQL: in the same round trip), which may be
        the commit; its rows are not read and an error surfaces with that next statement (a
        unique index's refusal as ``Duplicate``, like ``insert``, or as ``refused`` when given:
        the error to report even when the refusal only comes with the commit)."""
        if self._pg:
            if refused is not None:
                self._refused = refused
            self._deferred.append((sql, params))
            if not self._owns_commit:
                # A session's connection: its commit is the session's, so nothing may wait for it.
                self._together([])
            return
        try:
            self._conn.execute(sql, params).close()
        except _integrity_errors(False) as exc:
            if refused is not None:
                raise refused from exc
            raise Duplicate(str(exc)) from exc

    def batch(self, statements: list[Statement]) -> list[list[tuple[Any, ...]]]:
        """Run independent statements in order and return each one's rows ([] when it returns
        none). On PostgreSQL they (and anything pending) go to the server in one round trip."""
        if not self._pg:
            return [self.all(sql, params) for sql, params in statements]
        return [rows for rows, _count in self._together(statements)]

    def last(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """``all`` for the statement that ends what a service writes: nothing but reading its
        rows follows it. When the edge opened the unit of work with
        ``Database.raw(last_commits=True)`` (PostgreSQL; the edge runs this one service and then
        commits), the unit of work commits here, through the edge's own commit step, and the
        statement goes to the server in the same message as the ``COMMIT``: one round trip
        less. An error raised after it can no longer undo it, and any further statement fails.
        Otherwise it is ``all``, and the unit of work commits as usual."""
        if self._commit_step is None:
            return self.all(sql, params)
        self._final = (sql, params)
        self._commit_step(self)  # Database.raw's commit, which sends it (``commit``)
        return self._final_rows

    def commit(self) -> None:
        """Commit (``Database.raw()`` does at the end of the unit of work); deferred statements
        still waiting go to the server with the commit, in one round trip."""
        if self._ended:
            return  # the COMMIT went with ``last``
        if self._final is not None:
            final, self._final = self._final, None
            self._final_rows = self._together([final, ("COMMIT", {})])[0][0]
            self._ended = True
            return
        if not self._pg or not self._conn.autocommit:
            if self._pg and (self._deferred or self._settings):
                self._together([])
            self._conn.commit()
        elif self._begin and not self._deferred:
            self._begin, self._settings = False, {}  # no statement ran: no transaction to end
        elif self._pending():
            self._together([("COMMIT", {})])
        else:
            self._command("COMMIT")

    def rollback(self) -> None:
        """PostgreSQL, ``Database.raw()``: end a failed unit of work (nothing was kept)."""
        self._deferred, self._settings, self._refused, self._final = [], {}, None, None
        if self._conn.info.transaction_status != _idle():
            self._command("ROLLBACK")

    def _command(self, sql: str) -> None:
        if self._cursor is None:
            self._cursor = self._prepared().client or self._conn.cursor()
        self._cursor.execute(sql)

    def _pending(self) -> bool:
        return bool(self._begin or self._deferred or self._settings)

    def _together(self, statements: list[Statement]) -> list[tuple[list[tuple[Any, ...]], int]]:
        """Send what is pending and ``statements`` in one message; each statement's rows and
        row count, in order."""
        if self._ended:
            raise RuntimeError("this unit of work ended with its last statement (Raw.last)")
        client = self._client
        if client is None:
            client = self._client = self._prepared().client
            if client is None:
                client = self._client = self._prepared().client = self._new_client()
        todo: list[Statement] = [("BEGIN", {})] if self._begin else []
        if self._settings:
            names = list(self._settings.items())
            calls = ", ".join(f"set_config(:n{i}, :v{i}, true)" for i in range(len(names)))
            params: dict[str, Any] = {}
            for i, (name, value) in enumerate(names):
                params[f"n{i}"], params[f"v{i}"] = name, value
            todo.append(("SELECT " + calls, params))
        todo += self._deferred
        skip = len(todo)
        todo += statements
        refused, self._refused = self._refused, None
        self._begin, self._settings, self._deferred = False, {}, []
        text = "; ".join([self._text(sql, params) for sql, params in todo])
        try:
            client.execute(text)
        except _integrity_errors(True) as exc:
            # e.g. a deferred insert refused by a unique index, reported with this message
            if refused is not None:
                raise refused from exc
            raise Duplicate(str(exc)) from exc
        out: list[tuple[list[tuple[Any, ...]], int]] = []
        index = 0
        while True:
            if index >= skip:
                result = client.pgresult
                rows = [tuple(r) for r in client.fetchall()] if result.status == _tuples_ok() else []
                out.append((rows, int(client.rowcount)))
            index += 1
            if not client.nextset():
                break
        return out

    def _new_client(self) -> Any:
        import psycopg

        return psycopg.ClientCursor(self._conn)

    def _prepared(self) -> Statements:
        statements = self._statements
        if statements is None:
            statements = self._statements = statements_of(self._conn)
        return statements

    def _text(self, sql: str, params: dict[str, Any]) -> str:
        """One statement of a message: ``EXECUTE`` of its prepared form where it has one
        (storage/prepared.py), else the statement with its values bound in."""
        if not params and not plannable(sql):
            return sql
        if not self._owns_commit:
            # an ORM session's unit of work (imports, exports, reviews): not the hot path
            return str(self._client.mogrify(_to_pyformat(sql), params))
        statements = self._prepared()
        prepared = statements.lookup(sql)
        if prepared is False:
            in_transaction = not self._conn.autocommit or self._conn.info.transaction_status != _idle()
            prepared = statements.prepare(self._client, sql, in_transaction) if plannable(sql) else None
        if prepared is None:
            return str(self._client.mogrify(_to_pyformat(sql), params))
        assert isinstance(prepared, Prepared)
        return prepared.execute(params, self._quote)

    def _quote(self, value: Any) -> str:
        if type(value) is str and "\0" not in value:
            statements = self._prepared()
            escaping = statements.escaping
            if escaping is None:
                from psycopg import pq

                escaping = statements.escaping = pq.Escaping(self._conn.pgconn)
            return bytes(escaping.escape_literal(value.encode())).decode()
        return str(self._client.mogrify("%s", (value,)))

    def _run(self, sql: str, params: dict[str, Any]) -> Any:
        """A statement on its own: SQLite, or PostgreSQL over an ORM session's connection (the
        parameters bound by the server, as the bulk import's arrays want)."""
        if not self._pg:
            cursor = self._conn.cursor()
            cursor.execute(sql, params)
            return cursor
        if self._plain is None:
            self._plain = self._conn.cursor()
        self._plain.execute(_to_pyformat(sql), params)
        return self._plain

    def _alone(self) -> bool:
        """Whether a statement goes by ``_run`` rather than in a message of its own making."""
        return not self._pg or not (self._owns_commit or self._pending())

    def all(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if not self._alone():
            return self._together([(sql, params)])[0][0]
        cursor = self._run(sql, params)
        rows = cursor.fetchall()
        self._done(cursor)
        return [tuple(r) for r in rows]

    def insert(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """``first`` for an INSERT ... RETURNING; a unique-constraint refusal becomes ``Duplicate``
        (the transaction is then unusable: let the unit of work roll back)."""
        try:
            return self.first(sql, params)
        except _integrity_errors(self._pg) as exc:
            raise Duplicate(str(exc)) from exc

    def first(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        if not self._alone():
            rows = self._together([(sql, params)])[0][0]
            return rows[0] if rows else None
        cursor = self._run(sql, params)
        row = cursor.fetchone()
        self._done(cursor)
        return None if row is None else tuple(row)

    def executemany(self, sql: str, rows: list[dict[str, Any]]) -> None:
        if self._pg and self._pending():
            self._together([])
        cursor = self._conn.cursor()
        cursor.executemany(_to_pyformat(sql) if self._pg else sql, rows)
        cursor.close()

    def execute(self, sql: str, params: dict[str, Any]) -> int:
        """Run a statement; return how many rows it changed."""
        if not self._alone():
            return self._together([(sql, params)])[0][1]
        cursor = self._run(sql, params)
        count = int(cursor.rowcount)
        self._done(cursor)
        return count

    def _done(self, cursor: Any) -> None:
        if cursor is not self._plain:
            cursor.close()


def _idle() -> Any:
    from psycopg import pq

    return pq.TransactionStatus.IDLE


def _tuples_ok() -> Any:
    from psycopg import pq

    return pq.ExecStatus.TUPLES_OK
