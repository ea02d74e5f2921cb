"""Blobs as files on local disk, content-addressed, written atomically."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from labelhouse.core.errors import NotFound

_SHA = re.compile(r"^[0-9a-f]{64}$")


class LocalBlobStore:
    """Files under ``root/<workspace>/<2 hex>/<name>``; the name is always a 64-hex digest."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, workspace_id: int, sha256: str) -> Path:
        # The name is a hex digest we computed or checked, never a user's file name.
        if not _SHA.match(sha256):
            raise NotFound("no such file")
        return self.root / str(int(workspace_id)) / sha256[:2] / sha256

    def put(self, workspace_id: int, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.exists(workspace_id, sha):
            self.write(workspace_id, sha, data)
        return sha

    def exists(self, workspace_id: int, name: str) -> bool:
        return self._path(workspace_id, name).exists()

    def write(self, workspace_id: int, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` (replacing what was there), atomically."""
        path = self._path(workspace_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, workspace_id: int, sha256: str) -> bytes:
        try:
            return self._path(workspace_id, sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound("no such file") from None

    def delete(self, workspace_id: int, sha256: str) -> None:
        self._path(workspace_id, sha256).unlink(missing_ok=True)

    def purge(self, workspace_id: int) -> None:
        """Remove every file of a workspace (it was deleted)."""
        shutil.rmtree(self.root / str(int(workspace_id)), ignore_errors=True)
