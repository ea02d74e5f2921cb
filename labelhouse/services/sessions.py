"""Browser sessions: a password login that yields a short-lived token kept in a cookie.

A session is a row of ``tokens`` named ``SESSION_NAME`` with a 12-hour life, so revocation,
expiry, the actor cache and the audit trail are the API tokens' own. What differs is transport
(an HttpOnly cookie, see api/routes/sessions.py) and that unsafe requests must carry the
session's CSRF token (security/csrf.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import NotFound
from labelhouse.security import tokens
from labelhouse.services import accounts, audit
from labelhouse.storage.tables import Membership, Token, Workspace

SESSION_NAME = "browser session"
SESSION_HOURS = 12


@dataclass(frozen=True)
class WorkspaceChoice:
    id: int
    name: str
    role: str


def start(
    s: Session, email: str, password: str, *, workspace: str | None, now: datetime
) -> accounts.IssuedToken:
    """Log in with a password; a new session every time (the old cookie's token is not reused)."""
    return accounts.login(
        s, email, password, workspace=workspace, now=now, name=SESSION_NAME, hours=SESSION_HOURS
    )


def workspaces(s: Session, actor: Actor) -> list[WorkspaceChoice]:
    """Every workspace the acting user belongs to, for the workspace switcher."""
    rows = s.execute(
        select(Workspace.id, Workspace.name, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == actor.user_id)
        .order_by(Workspace.name)
    ).all()
    return [WorkspaceChoice(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def switch(s: Session, actor: Actor, token: str, workspace_id: int, *, now: datetime) -> accounts.IssuedToken:
    """End this session and start one in another workspace the user belongs to."""
    member = s.scalars(
        select(Membership).where(Membership.user_id == actor.user_id, Membership.workspace_id == workspace_id)
    ).first()
    if member is None:
        raise NotFound(f"workspace {workspace_id} not found")
    end(s, token, now=now)
    issued = accounts.issue_token(s, workspace_id, actor.user_id, SESSION_NAME, now=now, hours=SESSION_HOURS)
    audit.record(
        s,
        workspace_id,
        "login",
        f"user:{actor.user_id}",
        actor_id=actor.user_id,
        actor_name=actor.email,
        details={"via": "workspace switch"},
        now=now,
    )
    return issued


def end(s: Session, token: str, *, now: datetime) -> None:
    """Revoke a session's token (logout). Unknown or already-ended tokens are left alone."""
    row = s.scalars(select(Token).where(Token.token_hash == tokens.token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = now
    audit.record(s, row.workspace_id, "logout", f"user:{row.user_id}", actor_id=row.user_id, now=now)
    accounts.actor_cache.clear()
