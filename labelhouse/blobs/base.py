"""The Protocol every blob store implements (local disk now; S3-compatible later)."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    def put(self, workspace_id: int, data: bytes) -> str:
        """Store ``data``; return its name (a 64-hex digest). Storing the same bytes twice is a no-op."""
        ...

    def get(self, workspace_id: int, sha256: str) -> bytes:
        """The bytes, or ``NotFound``."""
        ...

    def delete(self, workspace_id: int, sha256: str) -> None: ...

    def purge(self, workspace_id: int) -> None:
        """Remove every file of a workspace."""
        ...


class NamedStore(Protocol):
    """A store that keeps bytes under names its caller chose (what sealing wraps)."""

    def exists(self, workspace_id: int, name: str) -> bool: ...

    def write(self, workspace_id: int, name: str, data: bytes) -> None: ...

    def get(self, workspace_id: int, sha256: str) -> bytes: ...

    def delete(self, workspace_id: int, sha256: str) -> None: ...

    def purge(self, workspace_id: int) -> None: ...
