"""Which workspaces and roles a single sign-on user gets: the operator's rules over a claim.

``LABELHOUSE_OIDC_ROLES`` is a JSON object from a group (a value of the groups claim) to one or
more ``"workspace:role"`` grants, e.g. ``{"labelers": "acme:annotator", "leads": ["acme:manager",
"globex:reviewer"]}``. A user gets, in each workspace, the highest role among the rules their
groups match, and nothing else: there is no default role, and a user no rule matches is refused.
JSON because group names are often LDAP DNs, full of ``=`` and ``,``. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from labelhouse.core.errors import Invalid
from labelhouse.core.roles import Role

_FIELD = "oidc_roles"


@dataclass(frozen=True)
class RoleRules:
    rules: tuple[tuple[str, str, Role], ...] = ()  # (group, workspace, role)

    @property
    def workspaces(self) -> frozenset[str]:
        """The workspaces the rules manage: membership there follows the rules at every login."""
        return frozenset(ws for _g, ws, _r in self.rules)

    def grants(self, groups: Iterable[str]) -> dict[str, Role]:
        """workspace -> the highest role the user's groups are granted there."""
        mine = set(groups)
        out: dict[str, Role] = {}
        for group, workspace, role in self.rules:
            if group in mine and (workspace not in out or role.rank > out[workspace].rank):
                out[workspace] = role
        return out


def _grant(group: str, text: Any) -> tuple[str, str, Role]:
    if not isinstance(text, str) or ":" not in text:
        raise Invalid(
            f'LABELHOUSE_OIDC_ROLES: the grant {text!r} of group {group!r} is not "workspace:role"',
            field=_FIELD,
        )
    workspace, _, role = text.rpartition(":")
    try:
        parsed = Role(role.strip())
    except ValueError:
        raise Invalid(
            f"LABELHOUSE_OIDC_ROLES: unknown role {role!r} for group {group!r}; "
            "roles are owner, manager, reviewer, annotator",
            field=_FIELD,
        ) from None
    if not workspace.strip():
        raise Invalid(f"LABELHOUSE_OIDC_ROLES: no workspace in {text!r}", field=_FIELD)
    return group, workspace.strip(), parsed


def parse_rules(text: str) -> RoleRules:
    """The rules of ``LABELHOUSE_OIDC_ROLES``; ``Invalid`` naming what to fix."""
    if not text.strip():
        return RoleRules()
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise Invalid(f"LABELHOUSE_OIDC_ROLES is not JSON: {exc}", field=_FIELD) from None
    if not isinstance(raw, Mapping):
        raise Invalid(
            'LABELHOUSE_OIDC_ROLES is a JSON object: {"group": "workspace:role", ...}', field=_FIELD
        )
    rules = []
    for group, grants in raw.items():
        for grant in grants if isinstance(grants, list) else [grants]:
            rules.append(_grant(str(group), grant))
    return RoleRules(tuple(rules))


def groups_of(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The groups in a claim: a list of strings, or one string (some IdPs send a single group)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
