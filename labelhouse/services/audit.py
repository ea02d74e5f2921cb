"""The audit log: record events in the caller's unit of work, list them, verify the chain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import NotFound
from labelhouse.security.audit import GENESIS, ChainedEvent, event_hash, find_breaks
from labelhouse.security.permissions import require
from labelhouse.services.clock import aware
from labelhouse.storage.tables import AuditEvent, Workspace


def _stamp(at: datetime) -> str:
    return aware(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(
    s: Session,
    workspace_id: int,
    action: str,
    target: str,
    *,
    actor: Actor | None = None,
    actor_id: int | None = None,
    actor_name: str = "",
    details: Any = None,
    now: datetime,
) -> None:
    """Append one event to the workspace's chain, in the same transaction as the change it records.

    The workspace row is locked first so that concurrent writers take turns at the chain's end
    (PostgreSQL; SQLite has one writer anyway).
    """
    if actor is not None:
        actor_id, actor_name = actor.user_id, actor.email
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT id FROM workspaces WHERE id = :w FOR UPDATE"), {"w": workspace_id})
    last = s.execute(
        text("SELECT seq, hash FROM audit_events WHERE workspace_id = :w ORDER BY seq DESC LIMIT 1"),
        {"w": workspace_id},
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    stamp = _stamp(now)
    s.add(
        AuditEvent(
            workspace_id=workspace_id,
            seq=seq,
            at=now,
            actor_id=actor_id,
            actor=actor_name[:320],
            action=action,
            target=target[:200],
            details=details,
            prev_hash=prev,
            hash=event_hash(prev, seq, stamp, actor_id, actor_name[:320], action, target[:200], details),
        )
    )
    s.flush()


def _chained(row: AuditEvent) -> ChainedEvent:
    return ChainedEvent(
        row.seq,
        _stamp(row.at),
        row.actor_id,
        row.actor,
        row.action,
        row.target,
        row.details,
        row.prev_hash,
        row.hash,
    )


def as_dict(row: AuditEvent) -> dict[str, Any]:
    e = _chained(row)
    return {
        "seq": e.seq,
        "at": e.at,
        "actor_id": e.actor_id,
        "actor": e.actor,
        "action": e.action,
        "target": e.target,
        "details": e.details,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def list_events(s: Session, actor: Actor, *, after: int = 0, limit: int = 200) -> list[AuditEvent]:
    require(actor, "audit.read")
    return list(
        s.scalars(
            select(AuditEvent)
            .where(AuditEvent.workspace_id == actor.workspace_id, AuditEvent.seq > after)
            .order_by(AuditEvent.seq)
            .limit(max(1, min(limit, 1000)))
        )
    )


def iter_chain(s: Session, workspace_id: int, *, page: int = 5000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.workspace_id == workspace_id, AuditEvent.seq > after)
                .order_by(AuditEvent.seq)
                .limit(page)
            )
        )
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def verify(s: Session, workspace: str | None = None) -> dict[str, list[str]]:
    """Operator check of every workspace's chain (or one): problems per workspace name."""
    query = select(Workspace).order_by(Workspace.id)
    if workspace:
        query = query.where(Workspace.name == workspace)
    spaces = list(s.scalars(query))
    if workspace and not spaces:
        raise NotFound(f"workspace {workspace!r} not found")
    return {ws.name: find_breaks(_chained(r) for r in iter_chain(s, ws.id)) for ws in spaces}


def workspace_id_of(s: Session, name: str) -> int:
    ws = s.scalars(select(Workspace).where(Workspace.name == name)).first()
    if ws is None:
        raise NotFound(f"workspace {name!r} not found")
    return ws.id
