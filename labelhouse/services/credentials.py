"""Changing one's own password, and what a change revokes (A-04).

A changed password ends every other way into the account: every other browser session and every
API token of the user, in every workspace. Tokens too, because whoever knew the old password could
have made one; the answer says how many of each were revoked so that a script's owner knows to
make a new token. The credential that made the request stays valid (the user keeps working).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Forbidden, Invalid
from labelhouse.security import tokens
from labelhouse.security.passwords import hash_password, verify_password
from labelhouse.security.permissions import require
from labelhouse.services import audit
from labelhouse.services.accounts import actor_cache, revoke_all_tokens
from labelhouse.services.sessions import SESSION_NAME
from labelhouse.storage.tables import Membership, User


@dataclass(frozen=True)
class Revoked:
    sessions: int
    tokens: int


def change_password(
    s: Session, actor: Actor, current: str, new: str, *, keep_token: str, now: datetime
) -> Revoked:
    """Set a new password (``current`` must be right) and revoke everything but ``keep_token``."""
    require(actor, "password.change")
    user = s.get(User, actor.user_id)
    assert user is not None  # an authenticated actor's user exists
    if not user.password_hash:
        raise Invalid(
            "this account has no password (it signs in with single sign-on or API tokens)",
            field="current_password",
        )
    if not verify_password(user.password_hash, current):
        raise Forbidden("the current password is wrong")
    if new == current:
        raise Invalid("the new password is the current one; choose another", field="new_password")
    user.password_hash = hash_password(new)
    keep = tokens.token_digest(keep_token) if keep_token else ""
    ended = revoke_all_tokens(s, user.id, now=now, keep_hash=keep)
    sessions = sum(1 for tok in ended if tok.name == SESSION_NAME)
    revoked = Revoked(sessions, len(ended) - sessions)
    workspaces = s.scalars(select(Membership.workspace_id).where(Membership.user_id == user.id)).all()
    for workspace_id in workspaces:
        audit.record(
            s,
            workspace_id,
            "password_changed",
            f"user:{user.id}",
            actor_id=user.id,
            actor_name=user.email,
            details={"sessions_revoked": revoked.sessions, "tokens_revoked": revoked.tokens},
            now=now,
        )
    s.flush()
    actor_cache.clear()  # revoked tokens fail on their very next request, in this process
    return revoked
