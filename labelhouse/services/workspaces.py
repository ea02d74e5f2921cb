"""Deleting a workspace: its rows go, its data key is destroyed (crypto-shredding), its audit stays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.blobs.base import BlobStore
from labelhouse.core.actor import Actor
from labelhouse.core.errors import Invalid, NotFound
from labelhouse.security.permissions import require
from labelhouse.services import audit
from labelhouse.services.accounts import actor_cache
from labelhouse.services.item_data import vault_of
from labelhouse.storage.tables import Base, Workspace

# Kept: the workspace row itself (a tombstone) and its audit chain, which must still verify
# and which records the deletion.
_KEPT = {"workspaces", "audit_events"}


@dataclass(frozen=True)
class Deleted:
    workspace_id: int
    rows: int
    had_key: bool


def delete_workspace(
    s: Session,
    name: str,
    *,
    reason: str,
    blobs: BlobStore,
    operator: str = "operator",
    operator_id: int | None = None,
    now: datetime,
) -> Deleted:
    """Delete every row of the workspace, then destroy its data key.

    The key goes before the edge commits: if the commit then fails, the data left behind is
    already unreadable and running the command again finishes the job. Every copy of the data
    (database dumps, blob copies, backups) becomes unreadable with the key, because no backup
    holds a data key (they live in the keyring, outside the database)."""
    reason = _reason(reason)
    ws = s.scalars(select(Workspace).where(Workspace.name == name, Workspace.deleted_at.is_(None))).first()
    if ws is None:
        raise NotFound(f"workspace {name!r} not found")
    return _delete(s, ws, reason=reason, blobs=blobs, operator=operator, operator_id=operator_id, now=now)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise Invalid("say why the workspace is deleted (--reason); the audit log keeps it", field="reason")
    return reason


def _delete(
    s: Session,
    ws: Workspace,
    *,
    reason: str,
    blobs: BlobStore,
    operator: str,
    operator_id: int | None,
    now: datetime,
) -> Deleted:
    # ``ws`` as its caller found it (by name, or the acting owner's): one lookup per deletion
    audit.record(
        s,
        ws.id,
        "workspace_deleted",
        f"workspace:{ws.id}",
        actor_id=operator_id,
        actor_name=operator,
        details={"name": ws.name, "reason": reason},
        now=now,
    )
    rows = 0
    # Children before parents; every table with a workspace_id, so tables added later are covered.
    for table in reversed(Base.metadata.sorted_tables):
        if table.name in _KEPT or "workspace_id" not in table.c:
            continue
        result = s.execute(text(f"DELETE FROM {table.name} WHERE workspace_id = :w"), {"w": ws.id})
        rows += max(int(getattr(result, "rowcount", 0) or 0), 0)
    ws.name = f"(deleted #{ws.id}) {ws.name}"[:200]
    ws.deleted_at = now
    s.flush()
    vault = vault_of(s)
    had_key = vault.keyring.destroy(ws.id, reason=reason, now=now)
    vault.forget(ws.id)
    blobs.purge(ws.id)
    return Deleted(ws.id, rows, had_key)


def delete_own_workspace(
    s: Session, actor: Actor, *, confirm: str, reason: str, blobs: BlobStore, now: datetime
) -> Deleted:
    """The owner deletes the workspace they are signed in to, through the API or the console.

    The caller types the workspace's name (``confirm``) and a reason, as the CLI asks for
    ``--yes`` and ``--reason``: one call cannot destroy a tenant by accident, and what is gone
    stays explained in the audit chain. Only owners may; everybody's tokens and sessions of the
    workspace go with its rows."""
    require(actor, "workspace.delete")
    ws = s.get(Workspace, actor.workspace_id)
    if ws is None or ws.deleted_at is not None:
        raise NotFound("workspace not found")
    if confirm.strip() != ws.name:
        raise Invalid(
            f"type the workspace's name exactly ({ws.name!r}) in 'confirm' to delete it for good",
            field="confirm",
        )
    done = _delete(
        s, ws, reason=_reason(reason), blobs=blobs, operator=actor.email, operator_id=actor.user_id, now=now
    )
    actor_cache.clear()
    return done


def key_states(s: Session) -> list[tuple[str, str]]:
    """Each live workspace and whether its data can be read with this install's keyring
    ("readable", "destroyed <when>" or "no key"): what a restore reports."""
    vault = vault_of(s)
    known = vault.keyring.status()["workspaces"]
    out = []
    for ws in s.scalars(select(Workspace).where(Workspace.deleted_at.is_(None)).order_by(Workspace.id)):
        entry = known.get(str(ws.id))
        if entry is None:
            state = "no key in this keyring: unreadable (point LABELHOUSE_KEY_DIR at the keyring it was made with)"
        elif entry["destroyed_at"]:
            state = f"data key destroyed {entry['destroyed_at']}: unreadable for good (crypto-shredded)"
        else:
            state = "readable"
        out.append((ws.name, state))
    return out
