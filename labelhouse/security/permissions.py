"""Authorization as data: which role may do which action. The docs' permissions page is made
from ``ACTIONS``."""

from __future__ import annotations

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Forbidden, NotFound
from labelhouse.core.ids import ProjectId
from labelhouse.core.roles import Role

# action -> (lowest role allowed, what it lets one do)
ACTIONS: dict[str, tuple[Role, str]] = {
    "project.read": (Role.annotator, "see a project (annotators: only projects they may work on)"),
    "project.create": (Role.manager, "create a project"),
    "project.update": (Role.manager, "change a project's settings or schema"),
    "project.delete": (Role.manager, "move a project to the trash"),
    "project.stats": (Role.reviewer, "see a project's progress and per-annotator figures"),
    "items.import": (Role.manager, "import items"),
    "items.read": (Role.reviewer, "list and read items"),
    "items.delete": (Role.manager, "move items to the trash"),
    "task.next": (Role.annotator, "take the next task of a project"),
    "annotation.submit": (Role.annotator, "submit an answer to a task one holds"),
    "annotation.read_all": (Role.reviewer, "read every annotator's answers"),
    "annotation.edit_any": (Role.reviewer, "make a new version of anybody's annotation"),
    "annotation.delete": (Role.manager, "move annotations to the trash"),
    "review": (Role.reviewer, "take the review queue and accept, reject or correct annotations"),
    "annotators.pause": (Role.manager, "pause and unpause annotators in a project"),
    "export": (Role.manager, "export a project"),
    "trash.manage": (Role.manager, "list, restore and purge the trash"),
    "members.read": (Role.manager, "list members"),
    "members.manage": (Role.manager, "add members, change roles (only below one's own)"),
    "tokens.own": (Role.annotator, "create and revoke one's own API tokens"),
    "password.change": (
        Role.annotator,
        "change one's own password (which revokes one's other sessions and tokens)",
    ),
    "jobs.read": (Role.annotator, "follow a job one started (managers: every job)"),
    "audit.read": (Role.manager, "read the workspace's audit log"),
    "workspace.delete": (
        Role.owner,
        "delete the workspace for good: its rows and files go and its data key is destroyed",
    ),
}


def allowed(role: Role, action: str) -> bool:
    return role.outranks_or_equals(ACTIONS[action][0])


def require(actor: Actor, action: str, project_id: ProjectId | None = None) -> None:
    """Raise unless ``actor`` may do ``action`` (on ``project_id``).

    A project an annotator is not assigned to answers exactly like a missing one (404), so that
    a vendor's people cannot learn which projects exist.
    """
    if project_id is not None and not actor.may_see_project(project_id):
        raise NotFound(f"project {project_id} not found")
    if not allowed(actor.role, action):
        need = ACTIONS[action][0].value
        raise Forbidden(
            f"your role ({actor.role.value}) may not {ACTIONS[action][1]}; it needs {need} or above"
        )
