"""The workspace a unit of work acts for, as PostgreSQL row security sees it (ATTACKS Z-08).

The API sets it once it knows who is calling (api/deps.py); ``storage.database`` hands it to
PostgreSQL as the transaction-local setting ``app.workspace_id`` at the start of every unit of
work, and the row-security policies (migration 0010) then show and accept only that workspace's
rows, whatever a query forgot to filter. It is a context variable on purpose: it is not how the
code scopes its queries (every query still names its workspace), only a backstop underneath, and
it must follow a request into the thread that serves it without being passed by hand. Unset (the
CLI, the job worker, the login and token lookups that find the workspace), the policies let the
privileged path see every workspace.
"""

from __future__ import annotations

from contextvars import ContextVar

_workspace: ContextVar[int | None] = ContextVar("labelhouse_workspace", default=None)


def enter_workspace(workspace_id: int) -> None:
    """Scope the rest of this request (this context) to one workspace."""
    _workspace.set(workspace_id)


def current_workspace() -> int | None:
    return _workspace.get()
