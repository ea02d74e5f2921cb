"""The database handle: engine setup per dialect and the unit of work the edges open."""

from __future__ import annotations

import select
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

from labelhouse.core.scope import current_workspace
from labelhouse.storage.rawsql import Raw, sqlite_datetime

# Row security (migration 0010): the workspace of this transaction, forgotten at its end.
_SCOPE_SQL = "SELECT set_config('app.workspace_id', %s, true)"


class Database:
    """One engine per process.

    SQLite allows one writer at a time. Write units of work take a process lock and start with
    ``BEGIN IMMEDIATE`` so that two writers never deadlock on a lock upgrade; readers run
    concurrently on WAL snapshots. Other processes (the CLI, a worker) wait on ``busy_timeout``.
    PostgreSQL needs neither: row locks and ``SKIP LOCKED`` do the work there.
    """

    # The pool is as large as the server's thread pool (40): overflow connections are closed when
    # given back, and PostgreSQL was paying for a new connection on many requests.
    def __init__(self, url: str, *, synchronous: str = "NORMAL", pool_size: int = 40) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # What seals and opens workspace data (security.sealing.Vault), set by the runtime; carried
        # by every unit of work so that services reach it without a parameter (storage does not
        # import security, so it is opaque here).
        self.sealer: Any = None
        self._write_lock = threading.Lock()
        self._kept: dict[int, _Kept] = {}  # thread id -> its own SQLite connection (keep_connection)
        if self.is_sqlite:
            self.engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=pool_size,
                max_overflow=20,
                # LIFO: the few hot connections are reused, instead of every pooled connection
                # growing its own page cache (memory stays low under bursty load).
                pool_use_lifo=True,
                json_serializer=_dumps,
                json_deserializer=orjson.loads,
            )
            _configure_sqlite(self.engine, synchronous)
            self._writer: Engine = self.engine.execution_options(lh_write=True)
            self._checkpointer = WalCheckpointer.start_for(url)
            if self._checkpointer is not None:
                # A Database dropped without dispose() (tests, short CLI commands) stops it too.
                weakref.finalize(self, self._checkpointer.stop_soon)
        else:
            self.engine = create_engine(
                url,
                pool_size=pool_size,
                max_overflow=20,
                # psycopg's own automatic prepared statements are off: on a rollback it drops
                # every prepared statement of the connection (DEALLOCATE ALL), the hot path's
                # too (storage/prepared.py), which prepares what is worth it itself.
                connect_args={"prepare_threshold": None},
                json_serializer=_dumps,
                json_deserializer=orjson.loads,
            )
            _check_on_checkout(self.engine)
            self._writer = self.engine
            self._checkpointer = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def _turn(self, write: bool) -> Iterator[None]:
        """SQLite writers take turns within the process (other processes wait on busy_timeout)."""
        if not (write and self.is_sqlite):
            yield
            return
        with self._write_lock:
            yield

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """One unit of work: commit when the block ends, roll back if it raises."""
        with self._turn(write):
            bind: Engine = self._writer if write else self.engine
            with Session(
                bind=bind, expire_on_commit=False, autoflush=False, info={"sealer": self.sealer}
            ) as session:
                try:
                    workspace = current_workspace()
                    if workspace is not None and not self.is_sqlite:
                        session.execute(text(_SCOPE_SQL.replace("%s", ":w")), {"w": str(workspace)})
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise

    @contextmanager
    def raw(self, *, write: bool = True, last_commits: bool = False) -> Iterator[Raw]:
        """A unit of work on a pooled driver connection, without the ORM session machinery.

        For the queue's hot path (``next``, ``submit``), where a Session's setup and teardown
        cost more than the dozen statements it runs. Commits when the block ends, rolls back if
        it raises, like ``session()``. On SQLite, a thread that called ``keep_connection()`` (the
        server's event loop) uses a connection of its own instead of the pool's.

        ``last_commits``: the caller runs one service whose ``Raw.last`` statement is the unit of
        work's last one, and lets the ``COMMIT`` travel with it (PostgreSQL; see ``Raw.last``).
        """
        if not self.is_sqlite:  # no turns to take (``_turn``): straight to the pool
            yield from self._raw_postgres(self.engine.raw_connection(), last_commits)
            return
        with self._turn(write):
            kept = self._kept.get(threading.get_ident())
            if kept is not None and not kept.busy:
                yield from self._raw_kept(kept, write)
                return
            conn = self.engine.raw_connection()
            try:
                yield from self._raw_sqlite(conn.driver_connection, write)
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.close()

    def _raw_sqlite(self, conn: Any, write: bool) -> Iterator[Raw]:
        """SQLite: begin, the unit of work, commit (the caller rolls back on failure)."""
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        raw = Raw(conn, postgres=False, sealer=self.sealer)
        yield raw
        self._commit_raw(raw)

    def keep_connection(self) -> None:
        """SQLite: this thread's ``raw()`` units of work reuse one connection, kept out of the pool.

        The server's event loop runs the labeling loop's calls one after the other (``hot_call``),
        and checking a connection out of the pool and back in (with its reset) was a tenth of
        the server's time there. Nested units of work, and every other thread, use the pool.
        Undone by ``release_connection()`` or ``dispose()``."""
        if not self.is_sqlite or threading.get_ident() in self._kept:
            return
        fairy = self.engine.raw_connection()  # configured by the pool's "connect" hook
        conn = fairy.driver_connection
        fairy.detach()  # ours now: the pool neither counts nor resets it
        self._kept[threading.get_ident()] = _Kept(conn)

    def release_connection(self) -> None:
        kept = self._kept.pop(threading.get_ident(), None)
        if kept is not None:
            kept.conn.close()

    def _raw_kept(self, kept: _Kept, write: bool) -> Iterator[Raw]:
        kept.busy = True
        try:
            yield from self._raw_sqlite(kept.conn, write)
        except BaseException:
            try:
                kept.conn.rollback()
            except sqlite3.Error:
                self.release_connection()  # unusable: the pool serves this thread from now on
            raise
        finally:
            kept.busy = False

    def _raw_postgres(self, conn: Any, last_commits: bool) -> Iterator[Raw]:
        """PostgreSQL: the connection goes into autocommit mode for the unit of work, so that
        ``Raw`` sends the ``BEGIN`` (and the transaction's settings) together with the first
        statement instead of in round trips of their own; it leaves the pool's way it came."""
        driver = conn.driver_connection
        driver.autocommit = True
        step = (lambda r: self._commit_raw(r)) if last_commits else None
        raw = Raw(driver, postgres=True, sealer=self.sealer, begin=True, commit_step=step)
        try:
            if (workspace := current_workspace()) is not None:
                raw.set_local("app.workspace_id", str(workspace))
            yield raw
            self._commit_raw(raw)
        except BaseException:
            try:
                raw.rollback()
            except Exception:
                conn.invalidate()  # a broken connection: the pool opens a new one
            raise
        finally:
            if not conn.is_valid or driver.closed:
                conn.close()
            else:
                try:
                    driver.autocommit = False
                except Exception:
                    conn.invalidate()
                conn.close()

    @staticmethod
    def _commit_raw(raw: Raw) -> None:
        raw.commit()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        for kept in list(self._kept.values()):
            kept.conn.close()
        self._kept.clear()
        self.engine.dispose()


class _Kept:
    """A thread's own SQLite connection (``Database.keep_connection``)."""

    __slots__ = ("busy", "conn")

    def __init__(self, conn: Any) -> None:
        self.conn: sqlite3.Connection = conn
        self.busy = False


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database file from a thread of its own.

    Left to SQLite, the commit that crosses ``wal_autocheckpoint`` pages runs the checkpoint itself,
    and on the server that commit runs on the event loop: every request waits while tens of MB are
    copied and synced (the labeling loop's p99 was two to five times its p95). A PASSIVE
    checkpoint here, every ``EVERY`` seconds on its own connection, does the same copy while
    writers go on appending (the driver releases the GIL); the pooled connections keep a far larger
    ``wal_autocheckpoint`` only as a backstop should this thread fall behind."""

    EVERY = 0.5

    def __init__(self, path: str) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    @classmethod
    def start_for(cls, url: str) -> WalCheckpointer | None:
        path = url.split("///", 1)[1] if "///" in url else ""
        if not path or path == ":memory:" or path.startswith("file::memory:"):
            return None
        checkpointer = cls(path)
        checkpointer._thread.start()
        return checkpointer

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.EVERY):
                try:
                    if conn is None:
                        # mode=rw: never create a database file that is not there (yet, or any more).
                        uri = f"file:{quote(self._path)}?mode=rw"
                        conn = sqlite3.connect(uri, uri=True, timeout=0.1, check_same_thread=False)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # the file is not there yet, or busy: next time
        finally:
            if conn is not None:
                conn.close()

    def stop_soon(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'labelhouse.db').resolve()}"


def _check_on_checkout(engine: Engine) -> None:
    """A pooled PostgreSQL connection the server has closed is replaced before use.

    ``pool_pre_ping`` would ask the server (``SELECT 1``, a round trip on every checkout: 9 % of the
    server's time in the labeling loop). An idle connection has nothing to read; when its socket is
    readable, the server has said something unasked, which in practice is "terminating connection"
    (a restart, ``pg_terminate_backend``, an idle timeout) followed by the close. Such a connection,
    or one the driver already knows is closed, is thrown away and the pool opens a new one.
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if not _looks_alive(dbapi_conn):
            raise DisconnectionError("the pooled PostgreSQL connection was closed by the server")


def _looks_alive(dbapi_conn: Any) -> bool:
    from psycopg import pq

    if dbapi_conn.closed or dbapi_conn.broken:
        return False
    pgconn = dbapi_conn.pgconn
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()  # not select.select: it fails on descriptors above 1023
    poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    return not poller.poll(0)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    sqlite3.register_adapter(datetime, sqlite_datetime)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how a transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode never loses a committed transaction when the process dies
        # (kill -9); only an OS crash or power cut can lose the last ones. FULL closes that too.
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # Checkpoint the WAL every 32 MB rather than 4 MB: each checkpoint syncs the database
        # file, and bulk imports were spending half their time there.
        cur.execute("PRAGMA wal_autocheckpoint=65536")
        cur.execute("PRAGMA cache_size=-32768")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("lh_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
