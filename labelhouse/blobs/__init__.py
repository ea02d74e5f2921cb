"""Blob stores: where the binary parts of items live, by content hash."""

from labelhouse.blobs.base import BlobStore
from labelhouse.blobs.local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore"]
