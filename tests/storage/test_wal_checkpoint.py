"""SQLite's write-ahead log is copied into the database file by a thread of the Database, not by
whichever commit (on the server: the event loop) crosses the autocheckpoint size."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from labelhouse.storage.database import Database, WalCheckpointer


def _wait(predicate, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_log_reaches_the_database_file_without_a_commit_doing_it(tmp_path: Path) -> None:
    path = tmp_path / "lh.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"))
        size_before = path.stat().st_size
        with db.engine.begin() as conn:  # ~4 MB in the log, far below the 256 MB backstop
            conn.execute(text("INSERT INTO t (body) VALUES (:b)"), [{"b": "x" * 4000} for _ in range(1000)])
        assert Path(f"{path}-wal").stat().st_size > 4_000_000
        # Nobody here checkpoints; the Database's own thread copies the pages into the file.
        assert _wait(lambda: path.stat().st_size > size_before + 3_000_000), "the log was not checkpointed"
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM t")).scalar() == 1000
    finally:
        db.dispose()
    assert db._checkpointer is not None and not db._checkpointer.running


def test_no_thread_for_memory_databases_and_no_file_made(tmp_path: Path) -> None:
    assert WalCheckpointer.start_for("sqlite:///:memory:") is None
    gone = tmp_path / "never.db"
    checkpointer = WalCheckpointer.start_for(f"sqlite:///{gone}")
    assert checkpointer is not None
    time.sleep(3 * WalCheckpointer.EVERY)
    checkpointer.stop()
    assert not checkpointer.running and not gone.exists()
