"""The master key and the KeyProvider seam: what wraps and unwraps the workspaces' data keys.

A master key is 32 random bytes, written as base64. It comes from ``LABELHOUSE_MASTER_KEY``,
from the file ``LABELHOUSE_MASTER_KEY_FILE``, or (first start, no key given) from a file this
module creates with mode 0600. A KMS plugs in later as another ``KeyProvider``: the keyring only
ever asks a provider to wrap and unwrap data keys, it never sees the master key itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from labelhouse.core.errors import Invalid, Unavailable

KEY_BYTES = 32
NONCE_BYTES = 12
MAKE_ONE = 'python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"'


class KeyProvider(Protocol):
    """Wraps data keys under a key it holds (a local master key now; a KMS key later)."""

    @property
    def key_id(self) -> str:
        """A fingerprint that names the wrapping key without revealing it."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key; ``Unavailable`` when ``wrapped`` was not made by this key for ``context``."""
        ...


class LocalKeyProvider:
    """AES-256-GCM key wrapping under a master key held in this process's memory."""

    def __init__(self, master: bytes) -> None:
        if len(master) != KEY_BYTES:
            raise Invalid(f"a master key is {KEY_BYTES} bytes (base64: 44 characters)", field="master_key")
        self._aead = AESGCM(master)
        self._key_id = fingerprint(master)

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, b"labelhouse-dek|" + context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], b"labelhouse-dek|" + context
            )
        except InvalidTag:
            raise Unavailable(
                "a data key does not unwrap under this master key (wrong key, or the keyring was altered)"
            ) from None


def fingerprint(master: bytes) -> str:
    """The key's id: a keyed hash of a constant, so the id says nothing about the key."""
    return hmac.new(master, b"labelhouse master key id", hashlib.sha256).hexdigest()[:16]


def new_master_key() -> bytes:
    return os.urandom(KEY_BYTES)


def encode_key(master: bytes) -> str:
    return base64.b64encode(master).decode()


def parse_key(text: str, where: str) -> bytes:
    """A master key from its base64 text; ``where`` names its source in the error."""
    try:
        raw = base64.b64decode(
            text.strip(), altchars=b"-_" if ("-" in text or "_" in text) else None, validate=True
        )
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise Invalid(
            f"{where} is not a master key: it must be {KEY_BYTES} random bytes in base64 "
            f"(44 characters); make one with {MAKE_ONE}",
            field="master_key",
        )
    return raw


def write_key_file(path: Path, master: bytes, *, exclusive: bool = False) -> None:
    """Write a key file readable by its owner only (0600), atomically (K-06)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(encode_key(master) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(encode_key(master) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_key_file(path: Path) -> bytes:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise Invalid(
            f"the master key file {path} does not exist; point LABELHOUSE_MASTER_KEY_FILE at it",
            field="master_key",
        ) from None
    except OSError as exc:
        raise Invalid(
            f"the master key file {path} cannot be read: {exc.strerror}", field="master_key"
        ) from None
    return parse_key(text, f"the file {path}")


class MasterKeySource:
    """Where this install's master key comes from; ``load`` reads it again (after a rotation)."""

    def __init__(self, *, value: str, file: Path, create: bool) -> None:
        self._value = value
        self.file = file
        self.create = create

    @property
    def from_environment(self) -> bool:
        return bool(self._value)

    def describe(self) -> str:
        return "LABELHOUSE_MASTER_KEY" if self._value else str(self.file)

    def load(self) -> LocalKeyProvider:
        if self._value:
            return LocalKeyProvider(parse_key(self._value, "LABELHOUSE_MASTER_KEY"))
        if self.create and not self.file.exists():
            try:
                write_key_file(self.file, new_master_key(), exclusive=True)
            except FileExistsError:
                pass  # another process made it first: use theirs
        return LocalKeyProvider(read_key_file(self.file))

    def __repr__(self) -> str:  # never the key itself
        return f"MasterKeySource({self.describe()})"
