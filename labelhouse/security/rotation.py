"""Master key rotation: every data key re-wrapped under a new master key; no data re-encrypted.

The new key is written next to its final place as ``<file>.new`` first, the keyring is re-wrapped,
then the new key replaces the old file. A crash between the last two steps leaves a keyring under
the new key and the new key in ``.new``: ``finish_interrupted`` (run at every start) completes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from labelhouse.core.errors import Invalid
from labelhouse.security.keyring import Keyring
from labelhouse.security.keys import (
    LocalKeyProvider,
    MasterKeySource,
    new_master_key,
    read_key_file,
    write_key_file,
)


@dataclass(frozen=True)
class Rotated:
    data_keys: int
    old_key_id: str
    new_key_id: str
    key_file: Path


def _pending(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def rotate_master(keyring: Keyring, source: MasterKeySource, new_key_file: Path | None) -> Rotated:
    if source.from_environment and new_key_file is None:
        raise Invalid(
            "the master key comes from LABELHOUSE_MASTER_KEY: give --new-key-file PATH for the new key, "
            "then start labelhouse with LABELHOUSE_MASTER_KEY_FILE=PATH (or the key in the variable)",
            field="new_key_file",
        )
    target = new_key_file or source.file
    master = new_master_key()
    provider = LocalKeyProvider(master)
    old_id = keyring.master_key_id
    write_key_file(_pending(target), master)
    count = keyring.rewrap(provider)
    os.replace(_pending(target), target)
    return Rotated(count, old_id, provider.key_id, target)


def finish_interrupted(source: MasterKeySource, keyring_path: Path) -> None:
    """If a rotation stopped between re-wrapping the keyring and replacing the key file, and the
    keyring is under the pending key, put the pending key in place."""
    pending = _pending(source.file)
    if source.from_environment or not pending.exists() or not keyring_path.exists():
        return
    import json

    wanted = json.loads(keyring_path.read_text()).get("master_key_id")
    if LocalKeyProvider(read_key_file(pending)).key_id == wanted:
        os.replace(pending, source.file)
    elif source.file.exists() and LocalKeyProvider(read_key_file(source.file)).key_id == wanted:
        pending.unlink()  # the rotation stopped before re-wrapping: the old key is still the one
