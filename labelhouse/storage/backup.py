"""Consistent copies of a running install (database and blobs), and bringing one back.

SQLite: the online backup API copies a consistent snapshot while the server keeps writing.
Blobs are immutable and content-addressed, and always written before the row that refers to
them, so copying them after the database snapshot gives every referenced blob.
PostgreSQL: ``pg_dump`` / ``psql`` (the client tools of the server's version) do the database.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

# pg_dump and psql run from argument lists, never through a shell, found on PATH on purpose (the
# operator's own PostgreSQL client tools): bandit B404/B603/B607 checked, marked below.
import subprocess  # nosec B404
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from labelhouse.core.errors import Conflict, Invalid, Unavailable

MANIFEST = "labelhouse-backup.json"


def _pg_args(url: str) -> list[str]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-d", u.database or ""]
    if u.username:
        args += ["-U", u.username]
    return args


def backup(db_url: str, blob_dir: Path, target: Path) -> dict[str, object]:
    if target.exists() and any(target.iterdir()):
        raise Conflict(f"{target} is not empty; give a new folder")
    target.mkdir(parents=True, exist_ok=True)
    if db_url.startswith("sqlite"):
        source = sqlite3.connect(make_url(db_url).database or "")
        dest = sqlite3.connect(target / "labelhouse.db")
        with dest:
            source.backup(dest)
        dest.close()
        source.close()
        kind = "sqlite"
    else:
        with (target / "database.sql").open("wb") as out:
            try:
                command = ["pg_dump", "--no-owner", *_pg_args(db_url)]
                subprocess.run(command, stdout=out, check=True)  # nosec B603
            except (OSError, subprocess.CalledProcessError) as exc:
                raise Unavailable(f"pg_dump failed ({exc}); install the PostgreSQL client tools") from None
        kind = "postgresql"
    files = 0
    if blob_dir.exists():
        for path in blob_dir.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                dest_path = target / "blobs" / path.relative_to(blob_dir)
                dest_path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest_path)
                files += 1
    manifest = {
        "kind": kind,
        "created_at": datetime.now(UTC).isoformat(),
        "blobs": files,
        # Item payloads and files in here are sealed; the keys that open them are not (on purpose:
        # deleting a workspace destroys its key, and with it this backup's copy of its data).
        "keys": "not included: restore with the install's keyring (LABELHOUSE_KEY_DIR) and master key",
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def restore(source: Path, db_url: str, blob_dir: Path, *, force: bool) -> dict[str, object]:
    manifest_path = source / MANIFEST
    if not manifest_path.exists():
        raise Invalid(f"{source} is not a labelhouse backup (no {MANIFEST})", field="source")
    manifest = json.loads(manifest_path.read_text())
    if manifest["kind"] == "sqlite":
        if not db_url.startswith("sqlite"):
            raise Invalid(
                "this backup is of a SQLite install; restore it into a SQLite data folder", field="source"
            )
        db_path = Path(make_url(db_url).database or "")
        if db_path.exists() and not force:
            raise Conflict(f"{db_path} exists; stop the server and pass --force to replace it")
        db_path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
        src = sqlite3.connect(source / "labelhouse.db")
        dst = sqlite3.connect(db_path)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        try:
            subprocess.run(  # nosec B603 B607
                [
                    "psql",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    *_pg_args(db_url),
                    "-f",
                    str(source / "database.sql"),
                ],
                check=True,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            raise Unavailable(f"psql failed ({exc}); restore into an empty database") from None
    if (source / "blobs").exists():
        shutil.copytree(source / "blobs", blob_dir, dirs_exist_ok=True)
    return manifest
