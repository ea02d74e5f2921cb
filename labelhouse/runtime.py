"""The composition root the edges share: settings, the database, the blob store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson  # noqa: F401  (imported early: the engine's JSON serializer uses it)

from labelhouse.blobs import LocalBlobStore
from labelhouse.blobs.base import BlobStore
from labelhouse.settings import Settings
from labelhouse.storage.database import Database
from labelhouse.storage.migrate import upgrade

if TYPE_CHECKING:
    from labelhouse.security.outbound import OutboundPolicy


@dataclass
class Runtime:
    settings: Settings
    db: Database
    blobs: BlobStore
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


def open_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    # The data folder holds the database, the files and the install secret: its owner only (K-06).
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database(settings.db_url, synchronous=settings.sqlite_synchronous)
    if migrate:
        upgrade(db)
    from labelhouse.services.accounts import install_secret

    with db.session() as s:
        secret = install_secret(s)
    return Runtime(settings=settings, db=db, blobs=LocalBlobStore(settings.blob_dir), secret=secret)
