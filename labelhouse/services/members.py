"""Members of a workspace: who they are, their role, projects and skills."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Forbidden, Invalid, NotFound
from labelhouse.core.roles import Role
from labelhouse.security.permissions import require
from labelhouse.services import audit
from labelhouse.services.accounts import (
    actor_cache,
    ensure_membership,
    ensure_user,
    normalize_email,
    parse_role,
)
from labelhouse.storage.tables import Membership, Project, User, Workspace


@dataclass(frozen=True)
class Member:
    user_id: int
    email: str
    role: str
    projects: list[int] | None
    skills: list[str]
    team: str | None = None


def _check_grant(actor: Actor, role: Role) -> None:
    # An owner may make owners; everyone else grants only roles below their own.
    if actor.role is not Role.owner and role.rank >= actor.role.rank:
        raise Forbidden(f"a {actor.role.value} can only grant roles below their own")


def _check_projects(s: Session, actor: Actor, projects: list[int] | None) -> None:
    if projects is None:
        return
    found = set(
        s.scalars(
            select(Project.id).where(Project.workspace_id == actor.workspace_id, Project.id.in_(projects))
        )
    )
    missing = [p for p in projects if p not in found]
    if missing:
        raise Invalid(f"project {missing[0]} not found", field="projects")


def list_members(s: Session, actor: Actor) -> list[Member]:
    require(actor, "members.read")
    rows = s.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == actor.workspace_id)
        .order_by(Membership.id)
    ).all()
    return [_member(m, u) for m, u in rows]


def _member(m: Membership, u: User) -> Member:
    return Member(u.id, u.email, m.role, m.projects, list(m.skills or []), m.team)


MAX_TEAM = 100


def parse_team(team: str | None) -> str | None:
    """A vendor team's name, trimmed; None or blank means no team."""
    if team is None or not team.strip():
        return None
    name = team.strip()
    if len(name) > MAX_TEAM:
        raise Invalid(f"the team name is {len(name)} characters; use at most {MAX_TEAM}", field="team")
    return name


def add_member(
    s: Session,
    actor: Actor,
    email: str,
    role: str,
    *,
    password: str | None = None,
    projects: list[int] | None = None,
    skills: list[str] | None = None,
    team: str | None = None,
    now: datetime,
) -> Member:
    require(actor, "members.manage")
    parsed = parse_role(role)
    team = parse_team(team)
    _check_grant(actor, parsed)
    _check_projects(s, actor, projects)
    # A password is set only for a new account. An existing person keeps theirs, even one who
    # has none yet (a token-only account): otherwise another workspace's owner could add them and
    # choose their password.
    known = s.scalars(select(User).where(User.email == normalize_email(email))).first()
    user = known if known is not None else ensure_user(s, email, password=password, now=now)
    m = ensure_membership(s, actor.workspace_id, user.id, parsed, projects=projects, skills=skills, now=now)
    if team is not None:
        m.team = team
        s.flush()
    audit.record(
        s,
        actor.workspace_id,
        "member_added",
        f"user:{user.id}",
        actor=actor,
        details={"email": user.email, "role": parsed.value, "projects": projects, "team": m.team},
        now=now,
    )
    return _member(m, user)


def _get(s: Session, actor: Actor, user_id: int) -> tuple[Membership, User]:
    row = s.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == actor.workspace_id, Membership.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound(f"member {user_id} not found")
    return row[0], row[1]


def update_member(
    s: Session,
    actor: Actor,
    user_id: int,
    *,
    role: str | None = None,
    projects: list[int] | None = None,
    all_projects: bool = False,
    skills: list[str] | None = None,
    team: str | None = None,
    now: datetime,
) -> Member:
    """``team``: None leaves it; an empty string removes the member from their team."""
    require(actor, "members.manage")
    m, u = _get(s, actor, user_id)
    before = {"role": m.role, "projects": m.projects, "skills": m.skills, "team": m.team}
    if Role(m.role).rank >= actor.role.rank and actor.role is not Role.owner:
        raise Forbidden("you can only change members whose role is below yours")
    if role is not None:
        parsed = parse_role(role)
        _check_grant(actor, parsed)
        m.role = parsed.value
    if all_projects:
        m.projects = None
    elif projects is not None:
        _check_projects(s, actor, projects)
        m.projects = projects
    if skills is not None:
        m.skills = skills
    if team is not None:
        m.team = parse_team(team)
    s.flush()
    after = {"role": m.role, "projects": m.projects, "skills": m.skills, "team": m.team}
    if after != before:
        action = "role_changed" if after["role"] != before["role"] else "member_changed"
        audit.record(
            s,
            actor.workspace_id,
            action,
            f"user:{user_id}",
            actor=actor,
            details={"before": before, "after": after},
            now=now,
        )
    actor_cache.clear()
    return _member(m, u)


def remove_member(s: Session, actor: Actor, user_id: int, *, now: datetime) -> None:
    require(actor, "members.manage")
    m, _u = _get(s, actor, user_id)
    if user_id == actor.user_id:
        raise Invalid("you cannot remove yourself; ask another owner", field="user_id")
    if Role(m.role).rank >= actor.role.rank and actor.role is not Role.owner:
        raise Forbidden("you can only remove members whose role is below yours")
    s.delete(m)
    s.flush()
    audit.record(
        s,
        actor.workspace_id,
        "member_removed",
        f"user:{user_id}",
        actor=actor,
        details={"email": _u.email},
        now=now,
    )
    actor_cache.clear()


def set_team_operator(s: Session, workspace: str, email: str, team: str | None, *, now: datetime) -> Member:
    """Operator command (local state, no actor): put a member of ``workspace`` in a vendor team
    (None or blank: no team)."""
    row = s.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(Workspace.name == workspace, User.email == normalize_email(email))
    ).first()
    if row is None:
        raise NotFound(f"{email} is not a member of workspace {workspace!r}")
    m, user = row
    before, m.team = m.team, parse_team(team)
    s.flush()
    audit.record(
        s,
        m.workspace_id,
        "member_changed",
        f"user:{user.id}",
        actor_name="operator (cli)",
        details={"before": {"team": before}, "after": {"team": m.team}},
        now=now,
    )
    actor_cache.clear()
    return _member(m, user)
