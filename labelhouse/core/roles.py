"""Roles in a workspace, from most to least powerful."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    owner = "owner"
    manager = "manager"
    reviewer = "reviewer"
    annotator = "annotator"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def outranks_or_equals(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.owner: 4, Role.manager: 3, Role.reviewer: 2, Role.annotator: 1}
