"""The composition root the edges share: settings, the database, the blob store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson  # noqa: F401  (imported early: the engine's JSON serializer uses it)

from labelhouse.blobs import LocalBlobStore
from labelhouse.blobs.base import BlobStore
from labelhouse.blobs.sealed import SealedBlobStore
from labelhouse.core.errors import Unavailable
from labelhouse.security.keyring import Keyring
from labelhouse.security.keys import MasterKeySource
from labelhouse.security.rotation import finish_interrupted
from labelhouse.security.sealing import Vault
from labelhouse.settings import Settings, check_key_placement
from labelhouse.storage.database import Database
from labelhouse.storage.migrate import upgrade

if TYPE_CHECKING:
    from labelhouse.security.outbound import OutboundPolicy


@dataclass
class Runtime:
    settings: Settings
    db: Database
    blobs: BlobStore
    vault: Vault
    secret: bytes = b""  # signs file URLs; made once per install, kept in the database
    _outbound: OutboundPolicy | None = field(default=None, repr=False)

    @property
    def outbound(self) -> OutboundPolicy:
        """What URL fetches may reach (built on first use: httpx is imported only then)."""
        if self._outbound is None:
            from labelhouse.security.addresses import AllowList
            from labelhouse.security.outbound import OutboundPolicy

            self._outbound = OutboundPolicy(
                allow=AllowList.parse(self.settings.outbound_allow),
                max_bytes=self.settings.outbound_max_mb * 1024 * 1024,
                timeout_s=self.settings.outbound_timeout_s,
                https_only=self.settings.outbound_https_only,
            )
        return self._outbound

    @outbound.setter
    def outbound(self, policy: OutboundPolicy) -> None:
        self._outbound = policy

    @property
    def skip_locked(self) -> bool:
        return not self.db.is_sqlite


def key_source(settings: Settings) -> MasterKeySource:
    check_key_placement(settings)
    return MasterKeySource(
        value=settings.master_key,
        file=settings.master_key_path,
        # A key file is made only where the install chose the default place (never at a path
        # the operator named: a typo there must not silently start a new, empty key).
        create=not settings.master_key and not settings.master_key_file,
    )


def open_vault(settings: Settings, *, existing: bool = False) -> Vault:
    """The master key (given, or made on first start), the keyring it wraps, the vault over both.

    ``existing``: the keys must already be there (the database was sealed with them, or a
    ``keys`` command runs): a wrong LABELHOUSE_KEY_DIR then stops with a message instead of
    starting a second, empty set of keys beside the real one."""
    source = key_source(settings)
    keyring_path = settings.keys_dir / "keyring.json"
    if existing and not keyring_path.exists():
        raise Unavailable(
            f"no keyring at {keyring_path}, but this install's data is sealed with one: set "
            "LABELHOUSE_KEY_DIR (and LABELHOUSE_MASTER_KEY or LABELHOUSE_MASTER_KEY_FILE) to the install's keys"
        )
    # A lost key file next to an existing keyring is an error to report, not a key to remake.
    source.create = source.create and not keyring_path.exists()
    finish_interrupted(source, keyring_path)
    return Vault(Keyring(keyring_path, source.load))


def open_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    # The data folder holds the database, the files and the install secret: its owner only (K-06).
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database(settings.db_url, synchronous=settings.sqlite_synchronous)
    if migrate:
        upgrade(db)
    from labelhouse.services.accounts import install_secret
    from labelhouse.services.at_rest import is_sealed, seal_existing

    vault = open_vault(settings, existing=is_sealed(db))
    db.sealer = vault

    files = LocalBlobStore(settings.blob_dir)
    seal_existing(db, vault, files)
    with db.session() as s:
        secret = install_secret(s)
    return Runtime(settings=settings, db=db, blobs=SealedBlobStore(files, vault), vault=vault, secret=secret)
