"""Who is acting: the identity every service receives first."""

from __future__ import annotations

from dataclasses import dataclass, field

from labelhouse.core.ids import ProjectId, UserId, WorkspaceId
from labelhouse.core.roles import Role


@dataclass(frozen=True)
class Actor:
    user_id: UserId
    workspace_id: WorkspaceId
    role: Role
    email: str = ""
    # None means every project of the workspace; a set limits an annotator (e.g. a vendor's
    # people) to the projects they were assigned.
    projects: frozenset[ProjectId] | None = None
    skills: frozenset[str] = field(default_factory=frozenset)

    def may_see_project(self, project_id: ProjectId) -> bool:
        return self.projects is None or project_id in self.projects
