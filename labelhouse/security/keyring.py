"""The keyring: each workspace's data keys, wrapped by the master key, in a file beside it.

The wrapped data keys live outside the database on purpose: a database dump or a backup then
holds no key at all, so destroying a workspace's entry here (crypto-shredding) makes its data
unreadable in the live database, in every backup and in every copy of the blob folder.

The file is JSON, written atomically (0600) under an exclusive ``flock`` so that the server, a
worker and the CLI can share it::

    {"format": 1, "master_key_id": "<fingerprint>",
     "workspaces": {"7": {"current": 1, "keys": {"1": "<base64 wrapped key>"},
                          "created_at": "...", "destroyed_at": null, "reason": null}}}

A destroyed entry keeps its metadata (when, why) for the audit trail and never gets a key again.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labelhouse.core.errors import Conflict, Unavailable
from labelhouse.security.keys import KEY_BYTES, KeyProvider

FORMAT = 1


class Shredded(Unavailable):
    """The workspace's data key was destroyed: its data can never be read again."""


@dataclass(frozen=True)
class DataKeys:
    """A workspace's unwrapped data keys: ``current`` seals, every version opens."""

    workspace_id: int
    current: int
    keys: dict[int, bytes]


def _context(workspace_id: int, version: int) -> bytes:
    # A wrapped key copied to another workspace's entry or version does not unwrap.
    return f"ws={workspace_id}|v={version}".encode()


class Keyring:
    def __init__(self, path: Path, load_provider: Callable[[], KeyProvider]) -> None:
        self.path = path
        self._load_provider = load_provider
        self._provider = load_provider()
        self._lock_path = path.with_name(path.name + ".lock")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._locked():
            doc = self._read()
            if doc is None:
                self._write({"format": FORMAT, "master_key_id": self._provider.key_id, "workspaces": {}})
            else:
                self._check_master(doc)

    @property
    def master_key_id(self) -> str:
        return self._provider.key_id

    # -- file access ------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self) -> dict[str, Any] | None:
        try:
            doc: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise Unavailable(
                f"the keyring {self.path} cannot be read ({exc}); restore it from its copy"
            ) from None
        if doc.get("format") != FORMAT:
            raise Unavailable(f"the keyring {self.path} has an unknown format {doc.get('format')!r}")
        return doc

    def _must_read(self) -> dict[str, Any]:
        doc = self._read()
        if doc is None:
            raise Unavailable(
                f"the keyring {self.path} is gone: restore it from its copy (nothing opens without it)"
            )
        return doc

    def _write(self, doc: dict[str, Any]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def _check_master(self, doc: dict[str, Any]) -> None:
        """The keyring must be wrapped by our master key; after a rotation by another process,
        read the key again (a key file that was replaced) before giving up."""
        if doc["master_key_id"] == self._provider.key_id:
            return
        fresh = self._load_provider()
        if doc["master_key_id"] == fresh.key_id:
            self._provider = fresh
            return
        raise Unavailable(
            f"the keyring {self.path} is wrapped by master key {doc['master_key_id']}, but the master key "
            f"given is {fresh.key_id}; give the key the keyring was made (or last rotated) with"
        )

    # -- data keys --------------------------------------------------------------------------

    def _entry(self, doc: dict[str, Any], workspace_id: int) -> dict[str, Any] | None:
        entry: dict[str, Any] | None = doc["workspaces"].get(str(int(workspace_id)))
        return entry

    def _unwrap(self, workspace_id: int, entry: dict[str, Any]) -> DataKeys:
        if entry.get("destroyed_at"):
            raise Shredded(
                f"the data key of workspace {workspace_id} was destroyed on {entry['destroyed_at']} "
                "(workspace deleted): its data cannot be read"
            )
        keys = {
            int(v): self._provider.unwrap(base64.b64decode(w), _context(workspace_id, int(v)))
            for v, w in entry["keys"].items()
        }
        return DataKeys(workspace_id, int(entry["current"]), keys)

    def get(self, workspace_id: int, *, create: bool) -> DataKeys | None:
        """The workspace's keys; with ``create``, make its first key if it has none."""
        doc = self._must_read()
        entry = self._entry(doc, workspace_id)
        if entry is None and create:
            with self._locked():
                doc = self._must_read()
                self._check_master(doc)
                entry = self._entry(doc, workspace_id)
                if entry is None:
                    entry = self._new_entry(workspace_id)
                    doc["workspaces"][str(int(workspace_id))] = entry
                    self._write(doc)
        if entry is None:
            return None
        if doc["master_key_id"] != self._provider.key_id:
            self._check_master(doc)
        return self._unwrap(workspace_id, entry)

    def _new_entry(self, workspace_id: int) -> dict[str, Any]:
        key = os.urandom(KEY_BYTES)
        return {
            "current": 1,
            "keys": {"1": base64.b64encode(self._provider.wrap(key, _context(workspace_id, 1))).decode()},
            "created_at": datetime.now(UTC).isoformat(),
            "destroyed_at": None,
            "reason": None,
        }

    def destroy(self, workspace_id: int, *, reason: str, now: datetime) -> bool:
        """Crypto-shred: drop the workspace's wrapped keys, keep when and why. True if it had keys."""
        with self._locked():
            doc = self._must_read()
            entry = self._entry(doc, workspace_id) or {"current": 0, "created_at": None}
            had = bool(entry.get("keys"))
            entry.update({"keys": {}, "destroyed_at": now.isoformat(), "reason": reason})
            doc["workspaces"][str(int(workspace_id))] = entry
            self._write(doc)
        return had

    def add_version(self, workspace_id: int) -> int:
        """A new data key for the workspace's new writes; older versions still open old data."""
        with self._locked():
            doc = self._must_read()
            self._check_master(doc)
            entry = self._entry(doc, workspace_id)
            if entry is None:
                raise Conflict(f"workspace {workspace_id} has no data key yet; nothing to rotate")
            self._unwrap(workspace_id, entry)  # refuses a destroyed entry, checks the wrapping
            version = max(int(v) for v in entry["keys"]) + 1
            key = os.urandom(KEY_BYTES)
            entry["keys"][str(version)] = base64.b64encode(
                self._provider.wrap(key, _context(workspace_id, version))
            ).decode()
            entry["current"] = version
            self._write(doc)
        return version

    def rewrap(self, new: KeyProvider) -> int:
        """Re-wrap every data key under ``new`` (master key rotation; the data is not touched).
        Returns how many data keys were re-wrapped."""
        with self._locked():
            doc = self._must_read()
            self._check_master(doc)
            count = 0
            for name, entry in doc["workspaces"].items():
                ws = int(name)
                for version, wrapped in list(entry.get("keys", {}).items()):
                    context = _context(ws, int(version))
                    key = self._provider.unwrap(base64.b64decode(wrapped), context)
                    entry["keys"][version] = base64.b64encode(new.wrap(key, context)).decode()
                    count += 1
            doc["master_key_id"] = new.key_id
            self._write(doc)
            self._provider = new
        return count

    def status(self) -> dict[str, Any]:
        """What the keyring holds, without any key: for ``labelhouse keys status`` and audits."""
        doc = self._must_read()
        return {
            "master_key_id": doc["master_key_id"],
            "workspaces": {
                name: {
                    "versions": sorted(int(v) for v in e.get("keys", {})),
                    "current": e.get("current"),
                    "created_at": e.get("created_at"),
                    "destroyed_at": e.get("destroyed_at"),
                    "reason": e.get("reason"),
                }
                for name, e in sorted(doc["workspaces"].items(), key=lambda kv: int(kv[0]))
            },
        }
