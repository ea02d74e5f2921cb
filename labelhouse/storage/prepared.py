"""PostgreSQL: the hot path's statements, prepared once per connection and run by name.

``Raw`` sends several statements in one simple-query message (one round trip), and the simple
query protocol has no prepared statements: the server parsed, analysed (row security included)
and planned every statement every time, about half of PostgreSQL's CPU in the labeling loop. SQL
has its own: ``PREPARE name AS ...`` once per connection, then ``EXECUTE name(values)``, which is
still plain text and rides in the same message as its neighbours, and whose plan the server keeps
(custom plans for the first five runs, then the generic plan when it is as good).

``PREPARE`` is not transactional (a rollback does not undo it), so each one goes in a message of
its own and is recorded only when it succeeded; inside a transaction it is wrapped in a savepoint,
so that a statement PostgreSQL cannot prepare (a parameter whose type it cannot infer) leaves the
transaction usable and is simply sent as text from then on.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

# A ``:name`` placeholder (not a ``::cast``), as ``Raw`` statements write their parameters.
NAMED = re.compile(r"(?<![:\w]):(\w+)")
# Statements worth a plan; utility statements (BEGIN, COMMIT, SET, ...) are sent as they are.
_PLANNED = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
# A connection keeps at most this many (the hot path has about twenty distinct statements).
MAX_PER_CONNECTION = 200


@dataclass(frozen=True)
class Prepared:
    """How to run a prepared statement: ``EXECUTE name(values)``, the values in ``$n`` order."""

    name: str
    names: tuple[str, ...]

    def execute(self, params: dict[str, Any], quote: Callable[[Any], str]) -> str:
        if not self.names:
            return f"EXECUTE {self.name}"
        return f"EXECUTE {self.name}({', '.join([literal(params[n], quote) for n in self.names])})"


def literal(value: Any, quote: Callable[[Any], str]) -> str:
    """A value as an SQL literal for ``EXECUTE``, whose parameters already have their types.

    The common types are written here (psycopg's ``mogrify`` was a tenth of the server's CPU in
    the labeling loop); strings are escaped by libpq (``PQescapeLiteral``), anything else by
    ``quote`` (psycopg's own quoting)."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return quote(value)
    if value is None:
        return "NULL"
    if kind is bool:
        return "true" if value else "false"
    if kind is datetime:
        cast = "timestamp" if value.tzinfo is None else "timestamptz"
        return f"'{value.isoformat()}'::{cast}"
    if kind is float and math.isfinite(value):
        return repr(value)
    return quote(value)


@lru_cache(maxsize=512)
def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with ``:name`` placeholders as ``$1, $2, ...`` (a name used twice keeps its
    number), and the names in number order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return NAMED.sub(number, sql), tuple(names)


def plannable(sql: str) -> bool:
    return sql.lstrip()[:6].upper().startswith(_PLANNED)


class Statements:
    """One connection's prepared statements: SQL text -> ``Prepared``, or None for a statement
    that could not be prepared (sent as text)."""

    __slots__ = ("by_sql", "client", "escaping")

    def __init__(self) -> None:
        self.by_sql: dict[str, Prepared | None] = {}
        self.client: Any = None  # the connection's client-side cursor, reused by every unit of work
        self.escaping: Any = None  # libpq's escaping functions bound to the connection

    def lookup(self, sql: str) -> Prepared | None | bool:
        """The statement's ``Prepared``; None: send it as text; False: not tried yet."""
        found = self.by_sql.get(sql, False)
        if found is False and len(self.by_sql) >= MAX_PER_CONNECTION:
            return None
        return found

    def prepare(self, cursor: Any, sql: str, in_transaction: bool) -> Prepared | None:
        """Prepare ``sql`` on the cursor's connection (one round trip, once per connection)."""
        body, names = numbered(sql)
        name = f"lh_{len(self.by_sql) + 1}"
        prepared: Prepared | None = Prepared(name, names)
        command = f"PREPARE {name} AS {body}"
        try:
            if in_transaction:
                cursor.execute(f"SAVEPOINT lh_prepare; {command}; RELEASE SAVEPOINT lh_prepare")
            else:
                cursor.execute(command)
        except Exception:
            if in_transaction:
                cursor.execute("ROLLBACK TO SAVEPOINT lh_prepare; RELEASE SAVEPOINT lh_prepare")
            prepared = None
        self.by_sql[sql] = prepared
        return prepared


_by_connection: WeakKeyDictionary[Any, Statements] = WeakKeyDictionary()
_lock = threading.Lock()


def statements_of(connection: Any) -> Statements:
    """The prepared statements of a driver connection (a new connection has none)."""
    found = _by_connection.get(connection)
    if found is None:
        with _lock:
            found = _by_connection.setdefault(connection, Statements())
    return found
