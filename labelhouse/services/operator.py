"""The operator: whoever runs the CLI on the server's own files acts as an owner of the
workspace they name. They can read the database file anyway; this only makes it explicit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import NotFound
from labelhouse.core.ids import UserId, WorkspaceId
from labelhouse.core.roles import Role
from labelhouse.storage.tables import Membership, Project


def operator_for_project(s: Session, project_id: int) -> Actor:
    project = s.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise NotFound(f"project {project_id} not found")
    owner = s.scalars(
        select(Membership)
        .where(Membership.workspace_id == project.workspace_id, Membership.role == Role.owner.value)
        .order_by(Membership.id)
    ).first()
    user_id = owner.user_id if owner is not None else (project.created_by or 0)
    return Actor(
        user_id=UserId(user_id),
        workspace_id=WorkspaceId(project.workspace_id),
        role=Role.owner,
        email="operator",
    )
