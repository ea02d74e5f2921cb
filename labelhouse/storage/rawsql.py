"""Hand-written SQL straight on the DBAPI connection of a unit of work: the queue's hot path.

SQLAlchemy's statement machinery costs tens of microseconds a statement, which is most of the
time of a ``next`` or a ``submit``; the queue runs a dozen fixed statements per call, so they go to
the driver directly, inside the same transaction as the rest of the unit of work. Statements are
written once with ``:name`` placeholders (sqlite3's style) and translated for psycopg.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy.orm import Session

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


@lru_cache(maxsize=256)
def _to_pyformat(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


def sqlite_datetime(value: datetime) -> str:
    """The text SQLAlchemy's DateTime stores on SQLite (naive UTC, 6-digit microseconds), so
    times bound in raw SQL compare correctly with times the ORM wrote."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


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


class Raw:
    """A driver connection inside a transaction: a session's, or one from ``Database.raw()``."""

    __slots__ = ("_conn", "_pg", "sealer")

    def __init__(self, dbapi_connection: Any, *, postgres: bool, sealer: Any = None) -> None:
        self._conn = dbapi_connection
        self._pg = postgres
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

    def _run(self, sql: str, params: dict[str, Any]) -> Any:
        cursor = self._conn.cursor()
        cursor.execute(_to_pyformat(sql) if self._pg else sql, params)
        return cursor

    def all(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        cursor = self._run(sql, params)
        rows = cursor.fetchall()
        cursor.close()
        return [tuple(r) for r in rows]

    def insert(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """``first`` for an INSERT ... RETURNING; a unique-constraint refusal becomes ``Duplicate``
        (the transaction is then unusable: let the unit of work roll back)."""
        try:
            return self.first(sql, params)
        except _integrity_errors(self._pg) as exc:
            raise Duplicate(str(exc)) from exc

    def first(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        cursor = self._run(sql, params)
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else tuple(row)

    def executemany(self, sql: str, rows: list[dict[str, Any]]) -> None:
        cursor = self._conn.cursor()
        cursor.executemany(_to_pyformat(sql) if self._pg else sql, rows)
        cursor.close()

    def execute(self, sql: str, params: dict[str, Any]) -> int:
        """Run a statement; return how many rows it changed."""
        cursor = self._run(sql, params)
        count = int(cursor.rowcount)
        cursor.close()
        return count
