"""The Protocol every blob store implements (local disk now; S3-compatible later)."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    def put(self, workspace_id: int, data: bytes) -> str:
        """Store ``data``; return its SHA-256 hex digest. Storing the same bytes twice is a no-op."""
        ...

    def get(self, workspace_id: int, sha256: str) -> bytes:
        """The bytes, or ``NotFound``."""
        ...

    def delete(self, workspace_id: int, sha256: str) -> None: ...
