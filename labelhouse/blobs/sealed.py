"""A blob store that seals every file under its workspace's data key before it reaches disk.

Names are keyed hashes of the content (``Vault.blob_name``): the same file stored twice in a
workspace is stored once, yet a name says nothing to anyone without the workspace's key (a plain
SHA-256 name would let anyone holding the folder confirm a guessed file).
"""

from __future__ import annotations

from labelhouse.blobs.base import NamedStore
from labelhouse.security.sealing import Vault


class SealedBlobStore:
    def __init__(self, inner: NamedStore, vault: Vault) -> None:
        self.inner = inner
        self.vault = vault

    def put(self, workspace_id: int, data: bytes) -> str:
        name = self.vault.blob_name(workspace_id, data)
        if not self.inner.exists(workspace_id, name):
            self.inner.write(workspace_id, name, self.vault.seal_blob(workspace_id, name, data))
        return name

    def get(self, workspace_id: int, sha256: str) -> bytes:
        return self.vault.open_blob(workspace_id, sha256, self.inner.get(workspace_id, sha256))

    def delete(self, workspace_id: int, sha256: str) -> None:
        self.inner.delete(workspace_id, sha256)

    def purge(self, workspace_id: int) -> None:
        self.inner.purge(workspace_id)
