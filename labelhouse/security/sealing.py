"""Sealing: AES-256-GCM under a workspace's data key, each ciphertext bound to where it belongs.

Every sealed value carries the data key version it was sealed with, and its associated data
names its owner (workspace, table, row or field, blob name), so a ciphertext copied to another
row, field, blob or workspace fails to open instead of showing the wrong data.

Format of a sealed value: ``version (2 bytes) | nonce (12) | ciphertext | tag (16)``.
Items store it as a JSON string ``"lh1:<base64>"``; blob files as ``b"LHB1"`` + the bytes.

Content hashes (item dedup, blob names) are keyed BLAKE2b under a key derived from the
workspace's first data key: equal content gives equal hashes inside a workspace (idempotent
imports), but nothing across workspaces, and nobody without the key can test a guess.
"""

from __future__ import annotations

import binascii
import hashlib
import os
import threading
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from labelhouse.core.errors import Unavailable
from labelhouse.security.keyring import DataKeys, Keyring

ITEM_PREFIX = "lh1:"
_ITEM_HEAD = '"' + ITEM_PREFIX  # a sealed item as stored: a JSON string
_NONCES_AT_ONCE = 1024  # ItemSealer's nonces per os.urandom call
BLOB_MAGIC = b"LHB1"
_NONCE = 12
# What sealing adds to a blob file: magic, key version, nonce, GCM tag.
BLOB_OVERHEAD = len(BLOB_MAGIC) + 2 + _NONCE + 16


class Tampered(Unavailable):
    """A sealed value did not authenticate: altered, moved to another owner, or another key."""


@dataclass(frozen=True)
class _Keys:
    current: int
    current_aead: AESGCM
    aeads: dict[int, AESGCM]
    hasher: Any  # keyed BLAKE2b, ready to copy; from version 1, so rotation keeps dedup working
    hash_key: bytes


def _derive_hash_key(first: bytes) -> bytes:
    return hashlib.blake2b(first, digest_size=32, person=b"lh-content-hash").digest()


class Vault:
    """Seals and opens a workspace's data; data keys are unwrapped once and kept in memory."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._cache: dict[int, _Keys] = {}
        self._lock = threading.Lock()

    def _keys(self, workspace_id: int, *, create: bool) -> _Keys:
        keys = self._cache.get(workspace_id)
        if keys is not None:
            return keys
        with self._lock:
            keys = self._cache.get(workspace_id)
            if keys is None:
                found = self.keyring.get(workspace_id, create=create)
                if found is None:
                    raise Unavailable(
                        f"workspace {workspace_id} has no data key in the keyring {self.keyring.path}: "
                        "this database was sealed with another keyring; point LABELHOUSE_KEY_DIR at it"
                    )
                keys = _from(found)
                self._cache[workspace_id] = keys
        return keys

    def ensure_key(self, workspace_id: int) -> None:
        """Give a new workspace its data key (made only here and for pre-encryption installs:
        sealing never makes one, so data restored without its keyring fails loudly instead of
        being mixed with data under a new key)."""
        self._keys(workspace_id, create=True)

    def check(self, workspace_id: int) -> None:
        """Raise now if the workspace's data cannot be opened (before a response starts streaming)."""
        self._keys(workspace_id, create=False)

    def forget(self, workspace_id: int) -> None:
        """Drop the cached keys (after shredding or a data key rotation)."""
        with self._lock:
            self._cache.pop(workspace_id, None)

    # -- generic ----------------------------------------------------------------------------

    def seal(self, workspace_id: int, plaintext: bytes, aad: bytes) -> bytes:
        keys = self._keys(workspace_id, create=False)
        nonce = os.urandom(_NONCE)
        return keys.current.to_bytes(2, "big") + nonce + keys.current_aead.encrypt(nonce, plaintext, aad)

    def open(self, workspace_id: int, sealed: bytes, aad: bytes) -> bytes:
        keys = self._keys(workspace_id, create=False)
        version = int.from_bytes(sealed[:2], "big")
        if version not in keys.aeads:
            # Another process may have added a data key version since we cached ours.
            self.forget(workspace_id)
            keys = self._keys(workspace_id, create=False)
        aead = keys.aeads.get(version)
        try:
            if aead is None:
                raise InvalidTag
            return aead.decrypt(sealed[2 : 2 + _NONCE], sealed[2 + _NONCE :], aad)
        except InvalidTag:
            raise Tampered(
                f"stored data of workspace {workspace_id} failed its integrity check "
                "(altered, moved from another row or workspace, or sealed under another key)"
            ) from None

    def content_hash(self, workspace_id: int, data: bytes, *, size: int = 16) -> str:
        """A keyed hash of ``data`` as hex (``size`` bytes): dedup within the workspace only."""
        keys = self._keys(workspace_id, create=False)
        if size != 16:
            return hashlib.blake2b(data, key=keys.hash_key, digest_size=size).hexdigest()
        h = keys.hasher.copy()  # copying a keyed state skips re-keying: a third faster per item
        h.update(data)
        hexdigest: str = h.hexdigest()
        return hexdigest

    # -- items ------------------------------------------------------------------------------

    def seal_item(self, workspace_id: int, project_id: int, content_hash: str, encoded: bytes) -> str:
        """An item's fields (canonical JSON) as the JSON text stored in ``items.data``."""
        aad = f"items.data|{workspace_id}|{project_id}|{content_hash}".encode()
        sealed = self.seal(workspace_id, encoded, aad)
        return '"' + ITEM_PREFIX + binascii.b2a_base64(sealed, newline=False).decode() + '"'

    def item_sealer(self, workspace_id: int, project_id: int) -> ItemSealer:
        """Hashes and seals many items of one project: what ``content_hash`` + ``seal_item`` do per
        item, with the keys looked up once (an import makes one per batch, so a rotated key is
        used from the next batch on)."""
        return ItemSealer(self._keys(workspace_id, create=False), workspace_id, project_id)

    def open_item(self, workspace_id: int, project_id: int, content_hash: str, stored: Any) -> dict[str, Any]:
        """An item's fields from ``items.data`` as read (a str from either driver)."""
        if isinstance(stored, bytes):
            stored = stored.decode()
        if isinstance(stored, str) and stored.startswith('"'):
            stored = orjson.loads(stored)
        if not isinstance(stored, str) or not stored.startswith(ITEM_PREFIX):
            raise Tampered(f"an item of workspace {workspace_id} is stored unsealed; refusing to serve it")
        aad = f"items.data|{workspace_id}|{project_id}|{content_hash}".encode()
        plain = self.open(workspace_id, binascii.a2b_base64(stored[len(ITEM_PREFIX) :]), aad)
        value: dict[str, Any] = orjson.loads(plain)
        return value

    # -- blobs ------------------------------------------------------------------------------

    def blob_name(self, workspace_id: int, data: bytes) -> str:
        return self.content_hash(workspace_id, data, size=32)

    def seal_blob(self, workspace_id: int, name: str, data: bytes) -> bytes:
        return BLOB_MAGIC + self.seal(workspace_id, data, f"blob|{workspace_id}|{name}".encode())

    def open_blob(self, workspace_id: int, name: str, stored: bytes) -> bytes:
        if not stored.startswith(BLOB_MAGIC):
            raise Tampered(f"a file of workspace {workspace_id} is stored unsealed; refusing to serve it")
        return self.open(workspace_id, stored[len(BLOB_MAGIC) :], f"blob|{workspace_id}|{name}".encode())

    # -- secret fields (storage credentials, model-backend keys, webhook secrets) -------------

    def seal_field(self, workspace_id: int, table: str, row_id: int, field: str, value: str) -> str:
        """A secret column's value, bound to its workspace, table, row and field (K-04)."""
        aad = f"field|{workspace_id}|{table}|{row_id}|{field}".encode()
        return (
            ITEM_PREFIX
            + binascii.b2a_base64(self.seal(workspace_id, value.encode(), aad), newline=False).decode()
        )

    def open_field(self, workspace_id: int, table: str, row_id: int, field: str, stored: str) -> str:
        if not stored.startswith(ITEM_PREFIX):
            raise Tampered(f"{table}.{field} of row {row_id} is stored unsealed; refusing to use it")
        aad = f"field|{workspace_id}|{table}|{row_id}|{field}".encode()
        return self.open(workspace_id, binascii.a2b_base64(stored[len(ITEM_PREFIX) :]), aad).decode()


class ItemSealer:
    """``Vault.content_hash`` + ``Vault.seal_item`` for many items of one project, one at a time.

    The same output format as the per-item calls; what is not the cipher's own work (the key
    lookup, building the associated data, one ``os.urandom`` call per nonce) is paid once per
    sealer or once per ``_NONCES_AT_ONCE`` items. Every nonce is still 96 fresh random bits, cut
    from a larger ``os.urandom`` read and used once. Not for sharing between threads."""

    __slots__ = ("_hasher", "_encrypt", "_version", "_aad", "_nonces", "_at")

    def __init__(self, keys: _Keys, workspace_id: int, project_id: int) -> None:
        self._hasher = keys.hasher
        self._encrypt = keys.current_aead.encrypt
        self._version = keys.current.to_bytes(2, "big")
        self._aad = f"items.data|{workspace_id}|{project_id}|".encode()
        self._nonces = b""
        self._at = 0

    def seal(self, plain: bytes) -> tuple[str, str]:
        """``(content hash, stored JSON text)`` of an item's canonical JSON."""
        at = self._at
        if at >= len(self._nonces):
            self._nonces = os.urandom(_NONCE * _NONCES_AT_ONCE)
            at = 0
        nonce = self._nonces[at : at + _NONCE]
        self._at = at + _NONCE
        h = self._hasher.copy()
        h.update(plain)
        digest: str = h.hexdigest()
        sealed = self._version + nonce + self._encrypt(nonce, plain, self._aad + digest.encode())
        return digest, _ITEM_HEAD + binascii.b2a_base64(sealed, newline=False).decode() + '"'


def sealed_version(stored: str | bytes) -> int:
    """The data key version a sealed value was made with (what K-04 asks the column to carry)."""
    if isinstance(stored, bytes):
        raw = stored[len(BLOB_MAGIC) :]
    else:
        text = stored.strip('"')
        raw = binascii.a2b_base64(text[len(ITEM_PREFIX) :])
    return int.from_bytes(raw[:2], "big")


def _from(found: DataKeys) -> _Keys:
    aeads = {v: AESGCM(k) for v, k in found.keys.items()}
    hash_key = _derive_hash_key(found.keys[min(found.keys)])
    hasher = hashlib.blake2b(key=hash_key, digest_size=16)
    return _Keys(found.current, aeads[found.current], aeads, hasher, hash_key)
