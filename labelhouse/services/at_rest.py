"""Bringing an install's existing data under encryption at rest: a startup step, run once.

Installs from before encryption at rest hold item payloads as plain JSON and blob files as plain
bytes. On the first start with keys, every such item is sealed under its workspace's data key
(its content hash recomputed as the keyed hash, so re-imports still deduplicate) and every such
blob file is sealed in place. Then a mark in ``install_state`` makes later starts skip the scan.
It is a startup step rather than an Alembic migration because it needs the keys, which live
outside the database and which migrations never see.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from labelhouse.blobs.base import NamedStore
from labelhouse.security.keyring import Shredded
from labelhouse.security.sealing import BLOB_MAGIC, Vault
from labelhouse.storage.database import Database
from labelhouse.storage.rawsql import json_value
from labelhouse.storage.tables import InstallState

MARK = "encrypted_at_rest"
BATCH = 2000


def is_sealed(db: Database) -> bool:
    """Whether this database's data was sealed already (so its keys must exist somewhere)."""
    try:
        with db.session(write=False) as s:
            return s.get(InstallState, MARK) is not None
    except SQLAlchemyError:  # not migrated yet: nothing sealed
        return False


def seal_existing(db: Database, vault: Vault, files: NamedStore) -> dict[str, int]:
    """Seal what an older version left in plaintext; a no-op once done. Returns the counts."""
    with db.session(write=False) as s:
        if s.get(InstallState, MARK) is not None:
            return {"items": 0, "blobs": 0}
    shredded: set[int] = set()
    with db.session(write=False) as s:
        # An install from before encryption at rest: its workspaces get their data keys now.
        for (workspace_id,) in s.execute(text("SELECT id FROM workspaces")).all():
            try:
                vault.ensure_key(workspace_id)
            except Shredded:
                # Deleted since (a restored old backup): its sealed data stays unreadable, and
                # plaintext from before encryption cannot be helped by any key (docs/security.md).
                shredded.add(workspace_id)
    counts = {
        "blobs": _seal_blobs(db, vault, files, shredded),
        "items": _seal_items(db, vault, shredded),
    }
    with db.session() as s:
        s.merge(InstallState(key=MARK, value="1"))
    return counts


def _seal_blobs(db: Database, vault: Vault, files: NamedStore, skip: set[int]) -> int:
    # Old files keep their SHA-256 names (the items refer to them); only the bytes get sealed.
    with db.session(write=False) as s:
        rows = s.execute(text("SELECT workspace_id, sha256 FROM blobs")).all()
    sealed = 0
    for workspace_id, name in rows:
        if workspace_id in skip or not files.exists(workspace_id, name):
            continue
        data = files.get(workspace_id, name)
        if data.startswith(BLOB_MAGIC):
            continue
        files.write(workspace_id, name, vault.seal_blob(workspace_id, name, data))
        sealed += 1
    return sealed


def _plain_rows_sql(postgres: bool) -> str:
    kind = "jsonb_typeof(data) <> 'string'" if postgres else "json_type(data) <> 'text'"
    return f"SELECT id, workspace_id, project_id, data FROM items WHERE id > :after AND {kind} ORDER BY id LIMIT :n"


def _seal_items(db: Database, vault: Vault, skip: set[int]) -> int:
    sealed = 0
    after = 0
    as_json = "CAST(:data AS JSONB)" if not db.is_sqlite else ":data"
    while True:
        with db.session() as s:
            rows = s.execute(text(_plain_rows_sql(not db.is_sqlite)), {"after": after, "n": BATCH}).all()
            if not rows:
                return sealed
            updates = []
            for item_id, workspace_id, project_id, data in rows:
                if workspace_id in skip:
                    continue
                fields: Any = json_value(data)
                encoded = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
                digest = vault.content_hash(workspace_id, encoded)
                stored = vault.seal_item(workspace_id, project_id, digest, encoded)
                updates.append({"data": stored, "h": digest, "i": item_id})
            if updates:  # one executemany per batch
                update = f"UPDATE items SET data = {as_json}, content_hash = :h WHERE id = :i"
                s.execute(text(update), updates)
            sealed += len(updates)
            after = rows[-1][0]
