"""An item's fields as stored (sealed under the workspace's data key) and as served (opened)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from labelhouse.core.errors import Unavailable
from labelhouse.security.sealing import Vault
from labelhouse.storage.rawsql import Raw
from labelhouse.storage.tables import Item


def vault_of(db: Session | Raw) -> Vault:
    """The unit of work's vault (the runtime puts it on the database; see ``Database.sealer``)."""
    vault = db.sealer if isinstance(db, Raw) else db.info.get("sealer")
    if not isinstance(vault, Vault):
        raise Unavailable("encryption keys are not loaded: open the database through open_runtime")
    return vault


def open_fields(
    db: Session | Raw, workspace_id: int, project_id: int, content_hash: str, stored: Any
) -> dict[str, Any]:
    """The fields of an item row read by raw SQL (``data`` and ``content_hash`` columns)."""
    return vault_of(db).open_item(workspace_id, project_id, content_hash, stored)


def fields_of(s: Session, item: Item) -> dict[str, Any]:
    """The fields of an item loaded through the ORM."""
    return vault_of(s).open_item(item.workspace_id, item.project_id, item.content_hash, item.data)
