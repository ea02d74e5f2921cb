"""``labelhouse workspaces``: delete a workspace for good (crypto-shredding)."""

from __future__ import annotations

from pathlib import Path

import click

from labelhouse.cli.context import exits_cleanly, runtime_from, state_options


@click.group()
def workspaces() -> None:
    """Workspaces (tenants)."""


@workspaces.command()
@click.argument("name")
@click.option("--reason", required=True, help="why (kept in the workspace's audit log)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@state_options
@exits_cleanly
def delete(name: str, reason: str, yes: bool, data_dir: Path | None, database_url: str | None) -> None:
    """Delete a workspace: its rows and files go and its data key is destroyed, so its data is
    unreadable everywhere, backups included. Its audit log stays. This cannot be undone."""
    from labelhouse.services.clock import utcnow
    from labelhouse.services.workspaces import delete_workspace

    if not yes:
        click.confirm(f"delete workspace {name!r} and destroy its data key for good?", abort=True)
    rt = runtime_from(data_dir, database_url, existing=True)
    with rt.db.session() as s:
        done = delete_workspace(s, name, reason=reason, blobs=rt.blobs, now=utcnow())
    click.echo(
        f"workspace {name} (#{done.workspace_id}) deleted: {done.rows} rows, data key "
        + ("destroyed" if done.had_key else "already gone")
    )
