"""Single sign-on: keep a sign-in in progress, and turn verified ID-token claims into a user,
their memberships (by the operator's rules, never beyond them) and a browser session.

The protocol (discovery, PKCE, code exchange, ID token checks) is security/oidc.py; the edge
calls ``begin``, then after the provider sends the browser back ``take`` (one use), then the
protocol checks outside any transaction, then ``sign_in``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from labelhouse.core.errors import Forbidden, Invalid, Unauthenticated
from labelhouse.core.roles import Role
from labelhouse.security import tokens
from labelhouse.security.claim_roles import RoleRules, groups_of
from labelhouse.services import audit
from labelhouse.services.accounts import (
    IssuedToken,
    actor_cache,
    ensure_membership,
    get_or_create_workspace,
    issue_token,
    normalize_email,
)
from labelhouse.services.clock import aware
from labelhouse.services.sessions import SESSION_HOURS, SESSION_NAME
from labelhouse.storage.tables import Membership, OidcLink, OidcRequest, User, Workspace

REQUEST_MINUTES = 10
ACTOR_NAME = "single sign-on"


@dataclass(frozen=True)
class Pending:
    nonce: str
    verifier: str
    next_path: str


@dataclass(frozen=True)
class SsoPolicy:
    """What the operator configured about who may come in and as what."""

    issuer: str
    rules: RoleRules
    groups_claim: str
    link_email: bool


def begin(s: Session, *, state: str, nonce: str, verifier: str, next_path: str, now: datetime) -> None:
    """Remember a sign-in that is leaving for the provider (and forget the stale ones)."""
    s.execute(delete(OidcRequest).where(OidcRequest.expires_at < now))
    s.add(
        OidcRequest(
            state_hash=tokens.token_digest(state),
            nonce=nonce,
            verifier=verifier,
            next_path=next_path,
            expires_at=now + timedelta(minutes=REQUEST_MINUTES),
        )
    )


def take(s: Session, state: str, *, now: datetime) -> Pending:
    """The sign-in a ``state`` belongs to, used up: a second use of the same state finds nothing."""
    row = s.get(OidcRequest, tokens.token_digest(state)) if state else None
    if row is None or aware(row.expires_at) <= now:
        raise Invalid("this sign-in is unknown, used or older than 10 minutes; start it again", field="state")
    s.delete(row)
    return Pending(row.nonce, row.verifier, row.next_path)


def _user_for(s: Session, claims: Mapping[str, Any], policy: SsoPolicy, *, now: datetime) -> User:
    subject = str(claims["sub"])
    link = s.scalars(
        select(OidcLink).where(OidcLink.issuer == policy.issuer, OidcLink.subject == subject)
    ).first()
    if link is not None:
        link.last_login_at = now
        user = s.get(User, link.user_id)
        assert user is not None  # the link's foreign key cascades on delete
        return user
    raw_email = claims.get("email")
    if not isinstance(raw_email, str) or not raw_email:
        raise Forbidden(
            "the identity provider sent no e-mail address; ask its administrator to release the "
            "'email' claim to labelhouse"
        )
    email = normalize_email(raw_email)
    user = s.scalars(select(User).where(User.email == email)).first()
    if user is not None:
        # Linking by e-mail hands an existing account to whoever the provider says owns the
        # address: only when the operator allowed it and the provider verified the address.
        if not policy.link_email:
            raise Forbidden(
                f"an account with the e-mail {email} already exists and is not linked to this identity "
                "provider; an operator can allow linking by verified e-mail (LABELHOUSE_OIDC_LINK_EMAIL)"
            )
        if claims.get("email_verified") is not True:
            raise Forbidden(
                f"an account with the e-mail {email} already exists, and the identity provider has not "
                "verified that this address is yours"
            )
    else:
        user = User(email=email, password_hash=None, disabled=False, created_at=now)
        s.add(user)
        s.flush()
    s.add(OidcLink(issuer=policy.issuer, subject=subject, user_id=user.id, created_at=now, last_login_at=now))
    s.flush()
    return user


def _sync_memberships(
    s: Session, user: User, grants: dict[str, Role], rules: RoleRules, *, now: datetime
) -> None:
    """In the workspaces the rules name, membership is what the rules grant: added, raised,
    lowered or removed. Other workspaces (managed by hand) are left as they are."""
    for name in sorted(rules.workspaces):
        role = grants.get(name)
        ws = (
            get_or_create_workspace(s, name, now=now)
            if role is not None
            else s.scalars(select(Workspace).where(Workspace.name == name)).first()
        )
        if ws is None:
            continue
        m = s.scalars(
            select(Membership).where(Membership.workspace_id == ws.id, Membership.user_id == user.id)
        ).first()
        target = f"user:{user.id}"
        if role is None:
            if m is not None:
                s.delete(m)
                audit.record(
                    s,
                    ws.id,
                    "member_removed",
                    target,
                    actor_name=ACTOR_NAME,
                    details={"email": user.email},
                    now=now,
                )
            continue
        if m is None:
            ensure_membership(s, ws.id, user.id, role, now=now)
            audit.record(
                s,
                ws.id,
                "member_added",
                target,
                actor_name=ACTOR_NAME,
                details={"email": user.email, "role": role.value},
                now=now,
            )
        elif m.role != role.value:
            before = m.role
            m.role = role.value
            audit.record(
                s,
                ws.id,
                "role_changed",
                target,
                actor_name=ACTOR_NAME,
                details={"before": {"role": before}, "after": {"role": role.value}},
                now=now,
            )
    s.flush()


def sign_in(s: Session, claims: Mapping[str, Any], policy: SsoPolicy, *, now: datetime) -> IssuedToken:
    """A browser session for verified claims, or ``Forbidden`` saying why not (nothing is created
    for a user the rules give no role)."""
    grants = policy.rules.grants(groups_of(claims, policy.groups_claim))
    if not grants:
        raise Forbidden(
            "your account at the identity provider has no role in labelhouse: none of your groups is "
            "mapped to a workspace. Ask your administrator to add you to a labelhouse group."
        )
    user = _user_for(s, claims, policy, now=now)
    if user.disabled:
        raise Unauthenticated("this account is disabled")
    _sync_memberships(s, user, grants, policy.rules, now=now)
    actor_cache.clear()  # roles may have changed: the next request must see the new ones
    first = sorted(grants)[0]
    ws = s.scalars(select(Workspace).where(Workspace.name == first)).one()
    issued = issue_token(s, ws.id, user.id, SESSION_NAME, now=now, hours=SESSION_HOURS)
    audit.record(
        s,
        ws.id,
        "login",
        f"user:{user.id}",
        actor_id=user.id,
        actor_name=user.email,
        details={"via": "oidc", "issuer": policy.issuer},
        now=now,
    )
    return issued
