"""Users, tokens, login, authentication and the one-time bootstrap of the first owner."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Conflict, Invalid, NotFound, Unauthenticated
from labelhouse.core.ids import ProjectId, UserId, WorkspaceId
from labelhouse.core.roles import Role
from labelhouse.security import tokens
from labelhouse.security.passwords import hash_password, needs_rehash, verify_password
from labelhouse.security.permissions import require
from labelhouse.services import audit
from labelhouse.services.clock import aware
from labelhouse.services.item_data import vault_of
from labelhouse.storage.tables import InstallState, Membership, Token, User, Workspace

LOGIN_TOKEN_HOURS = 24 * 7


@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str  # shown once
    workspace_id: int
    user_id: int
    expires_at: datetime | None


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        raise Invalid(f"{email!r} is not an email address", field="email")
    return email


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid(
            f"unknown role {value!r}; roles are owner, manager, reviewer, annotator", field="role"
        ) from None


def get_or_create_workspace(s: Session, name: str, *, now: datetime) -> Workspace:
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("a workspace name has 1 to 200 characters", field="workspace")
    ws = s.scalars(select(Workspace).where(Workspace.name == name)).first()
    if ws is None:
        ws = Workspace(name=name, created_at=now)
        s.add(ws)
        s.flush()
        vault_of(s).ensure_key(ws.id)
    return ws


def ensure_user(s: Session, email: str, *, password: str | None, now: datetime) -> User:
    email = normalize_email(email)
    user = s.scalars(select(User).where(User.email == email)).first()
    if user is None:
        user = User(
            email=email,
            password_hash=hash_password(password) if password else None,
            disabled=False,
            created_at=now,
        )
        s.add(user)
        s.flush()
    elif password:
        user.password_hash = hash_password(password)
    return user


def revoke_all_tokens(s: Session, user_id: int, *, now: datetime, keep_hash: str = "") -> list[Token]:
    """Revoke every live session and API token of a user (all workspaces) but ``keep_hash``."""
    revoked = []
    for tok in s.scalars(select(Token).where(Token.user_id == user_id, Token.revoked_at.is_(None))):
        if tok.token_hash != keep_hash:
            tok.revoked_at = now
            revoked.append(tok)
    s.flush()
    actor_cache.clear()
    return revoked


def ensure_membership(
    s: Session,
    workspace_id: int,
    user_id: int,
    role: Role,
    *,
    projects: list[int] | None = None,
    skills: list[str] | None = None,
    now: datetime,
) -> Membership:
    m = s.scalars(
        select(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    ).first()
    if m is None:
        m = Membership(
            workspace_id=workspace_id,
            user_id=user_id,
            role=role.value,
            projects=projects,
            skills=skills or [],
            created_at=now,
        )
        s.add(m)
    else:
        m.role = role.value
        if projects is not None:
            m.projects = projects
        if skills is not None:
            m.skills = skills
    s.flush()
    return m


def issue_token(
    s: Session, workspace_id: int, user_id: int, name: str, *, now: datetime, hours: int | None = None
) -> IssuedToken:
    raw = tokens.new_token()
    expires = now + timedelta(hours=hours) if hours else None
    row = Token(
        workspace_id=workspace_id,
        user_id=user_id,
        name=name[:200],
        token_hash=tokens.token_digest(raw),
        prefix=tokens.display_prefix(raw),
        created_at=now,
        expires_at=expires,
    )
    s.add(row)
    s.flush()
    return IssuedToken(row.id, raw, workspace_id, user_id, expires)


def create_user_cli(
    s: Session,
    email: str,
    *,
    workspace: str,
    role: str,
    password: str | None,
    with_token: bool,
    now: datetime,
    reset: bool = False,
) -> tuple[User, Workspace, IssuedToken | None]:
    """Operator command (local state, no actor): create a workspace/user/membership, maybe a token.

    With ``reset``, a new password for an existing user is a reset: every session and token made
    with the old one is revoked, as after a password change (A-03, A-04)."""
    ws = get_or_create_workspace(s, workspace, now=now)
    user = ensure_user(s, email, password=password, now=now)
    if reset and password:
        revoke_all_tokens(s, user.id, now=now)
    ensure_membership(s, ws.id, user.id, parse_role(role), now=now)
    issued = issue_token(s, ws.id, user.id, "cli", now=now) if with_token else None
    audit.record(
        s,
        ws.id,
        "member_added",
        f"user:{user.id}",
        actor_name="operator (cli)",
        details={"email": user.email, "role": role, "token": issued is not None},
        now=now,
    )
    return user, ws, issued


# --- bootstrap: the first owner, with no default account -------------------------------------

_BOOTSTRAP_KEY = "bootstrap_token_hash"


def install_secret(s: Session) -> bytes:
    """This install's random secret (made on first use), for signing file URLs."""
    row = s.get(InstallState, "url_signing_secret")
    if row is None:
        row = InstallState(key="url_signing_secret", value=secrets.token_hex(32))
        s.add(row)
        s.flush()
    return bytes.fromhex(row.value)


def has_users(s: Session) -> bool:
    return s.execute(text("SELECT 1 FROM users LIMIT 1")).first() is not None


def make_bootstrap_token(s: Session) -> str | None:
    """On a fresh install, a one-time token that lets the first owner sign up (else None)."""
    if has_users(s):
        return None
    raw = tokens.new_token()
    s.merge(InstallState(key=_BOOTSTRAP_KEY, value=tokens.token_digest(raw)))
    return raw


def bootstrap(
    s: Session, token: str, *, email: str, password: str, workspace: str, now: datetime
) -> IssuedToken:
    state = s.get(InstallState, _BOOTSTRAP_KEY)
    if state is None or has_users(s) or state.value != tokens.token_digest(token):
        raise Unauthenticated("this bootstrap token is not valid (it works once, on an empty install)")
    s.delete(state)
    user, ws, _ = create_user_cli(
        s, email, workspace=workspace, role="owner", password=password, with_token=False, now=now
    )
    return issue_token(s, ws.id, user.id, "login", now=now, hours=LOGIN_TOKEN_HOURS)


# --- login and authentication -----------------------------------------------------------------


def login(
    s: Session,
    email: str,
    password: str,
    *,
    workspace: str | None,
    now: datetime,
    name: str = "login",
    hours: int = LOGIN_TOKEN_HOURS,
) -> IssuedToken:
    """A new token for a password login (``name`` says which kind: API login or browser session)."""
    message = "wrong email or password"
    try:
        email = normalize_email(email)
    except Invalid:
        raise Unauthenticated(message) from None
    user = s.scalars(select(User).where(User.email == email)).first()
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        raise Unauthenticated(message)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # the cost went up since: upgrade it now (K-02)
    query = select(Membership, Workspace).join(Workspace, Workspace.id == Membership.workspace_id)
    query = query.where(Membership.user_id == user.id)
    if workspace:
        query = query.where(Workspace.name == workspace)
    row = s.execute(query.order_by(Membership.id)).first()
    if row is None:
        raise Unauthenticated(message)
    issued = issue_token(s, row[1].id, user.id, name, now=now, hours=hours)
    audit.record(
        s,
        row[1].id,
        "login",
        f"user:{user.id}",
        actor_id=user.id,
        actor_name=user.email,
        details={"via": name},
        now=now,
    )
    return issued


def record_failed_login(s: Session, email: str, *, now: datetime) -> None:
    """A failed login of a known account, in each of its workspaces (in its own unit of work:
    the login's own one is rolled back)."""
    try:
        email = normalize_email(email)
    except Invalid:
        return
    user = s.scalars(select(User).where(User.email == email)).first()
    if user is None:
        return
    for m in s.scalars(select(Membership).where(Membership.user_id == user.id)):
        audit.record(
            s, m.workspace_id, "login_failed", f"user:{user.id}", actor_id=user.id, actor_name=email, now=now
        )


class _ActorCache:
    """A few seconds of memory for token lookups: the hot path sends one per request.

    Revocation, role changes and removals clear it, so they take effect at once in this process;
    other processes see them within ``TTL`` seconds.
    """

    TTL = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Actor, datetime | None]] = {}

    def get(self, digest: str) -> tuple[Actor, datetime | None] | None:
        with self._lock:
            hit = self._entries.get(digest)
        if hit is None or time.monotonic() - hit[0] > self.TTL:
            return None
        return hit[1], hit[2]

    def put(self, digest: str, actor: Actor, expires: datetime | None) -> None:
        with self._lock:
            if len(self._entries) > 10000:
                self._entries.clear()
            self._entries[digest] = (time.monotonic(), actor, expires)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


actor_cache = _ActorCache()


def cached_actor(token: str, *, now: datetime) -> Actor | None:
    """The actor of a token seen in the last few seconds, without touching the database."""
    cached = actor_cache.get(tokens.token_digest(token)) if token else None
    if cached is None:
        return None
    actor, expires = cached
    return actor if expires is None or expires > now else None


def authenticate(s: Session, token: str, *, now: datetime) -> Actor:
    if not token:
        raise Unauthenticated("send 'Authorization: Bearer <token>'")
    digest = tokens.token_digest(token)
    hit = cached_actor(token, now=now)
    if hit is not None:
        return hit
    row = s.execute(
        select(Token, Membership, User)
        .join(
            Membership,
            (Membership.user_id == Token.user_id) & (Membership.workspace_id == Token.workspace_id),
        )
        .join(User, User.id == Token.user_id)
        .where(Token.token_hash == digest)
    ).first()
    if row is None:
        raise Unauthenticated("this token is not valid; create a new one")
    tok, m, user = row
    if tok.revoked_at is not None or user.disabled:
        raise Unauthenticated("this token was revoked; create a new one")
    expires = aware(tok.expires_at) if tok.expires_at else None
    if expires is not None and expires <= now:
        raise Unauthenticated("this token has expired; log in again")
    actor = Actor(
        user_id=UserId(user.id),
        workspace_id=WorkspaceId(tok.workspace_id),
        role=Role(m.role),
        email=user.email,
        projects=None if m.projects is None else frozenset(ProjectId(p) for p in m.projects),
        skills=frozenset(m.skills or []),
    )
    actor_cache.put(digest, actor, expires)
    return actor


def create_token(s: Session, actor: Actor, name: str, *, now: datetime) -> IssuedToken:
    require(actor, "tokens.own")
    issued = issue_token(s, actor.workspace_id, actor.user_id, name or "api", now=now)
    audit.record(
        s,
        actor.workspace_id,
        "token_created",
        f"token:{issued.id}",
        actor=actor,
        details={"name": name},
        now=now,
    )
    return issued


def list_tokens(s: Session, actor: Actor) -> list[Token]:
    require(actor, "tokens.own")
    return list(
        s.scalars(
            select(Token)
            .where(Token.workspace_id == actor.workspace_id, Token.user_id == actor.user_id)
            .where(Token.revoked_at.is_(None))
            .order_by(Token.id)
        )
    )


def revoke_token(s: Session, actor: Actor, token_id: int, *, now: datetime) -> None:
    require(actor, "tokens.own")
    tok = s.get(Token, token_id)
    if tok is None or tok.workspace_id != actor.workspace_id or tok.user_id != actor.user_id:
        raise NotFound(f"token {token_id} not found")
    if tok.revoked_at is not None:
        raise Conflict(f"token {token_id} is already revoked")
    tok.revoked_at = now
    audit.record(s, actor.workspace_id, "token_revoked", f"token:{token_id}", actor=actor, now=now)
    actor_cache.clear()


def actor_for(s: Session, workspace_id: int, user_id: int) -> Actor:
    """The actor a background job acts as: its creator, with their current role."""
    row = s.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    ).first()
    if row is None or row[1].disabled:
        raise Unauthenticated("the user who started this job is no longer a member")
    m, user = row
    return Actor(
        user_id=UserId(user.id),
        workspace_id=WorkspaceId(workspace_id),
        role=Role(m.role),
        email=user.email,
        projects=None if m.projects is None else frozenset(ProjectId(p) for p in m.projects),
        skills=frozenset(m.skills or []),
    )
