"""``labelhouse keys``: the keyring's state, and rotation of the master key or a workspace's data key."""

from __future__ import annotations

from pathlib import Path

import click

from labelhouse.cli.context import exits_cleanly, state_options
from labelhouse.settings import load_settings


@click.group()
def keys() -> None:
    """Encryption keys: the master key and the workspaces' data keys."""


@keys.command()
@state_options
@exits_cleanly
def status(data_dir: Path | None, database_url: str | None) -> None:
    """Show which master key wraps the keyring and each workspace's data key versions (never a key)."""
    from labelhouse.runtime import open_vault

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    vault = open_vault(settings, existing=True)
    state = vault.keyring.status()
    click.echo(f"keyring {vault.keyring.path}, master key {state['master_key_id']}")
    for ws, entry in state["workspaces"].items():
        if entry["destroyed_at"]:
            click.echo(f"workspace {ws}: DESTROYED {entry['destroyed_at']} ({entry['reason']})")
        else:
            click.echo(f"workspace {ws}: data key versions {entry['versions']}, current {entry['current']}")


@keys.command()
@click.option(
    "--new-key-file",
    type=click.Path(path_type=Path),
    default=None,
    help="where to write the new master key (required when the key comes from LABELHOUSE_MASTER_KEY; "
    "default: replace the key file in place)",
)
@click.option(
    "--workspace",
    default=None,
    help="rotate this workspace's data key instead: new data is sealed under a new version, old data stays readable",
)
@state_options
@exits_cleanly
def rotate(
    new_key_file: Path | None, workspace: str | None, data_dir: Path | None, database_url: str | None
) -> None:
    """Re-wrap every data key under a new master key (no data is re-encrypted); the old key stops working."""
    from labelhouse.runtime import key_source, open_runtime, open_vault
    from labelhouse.security.rotation import rotate_master

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    if workspace is not None:
        from labelhouse.services import audit as audit_service

        rt = open_runtime(settings)
        with rt.db.session(write=False) as s:
            ws = audit_service.workspace_id_of(s, workspace)
        version = rt.vault.keyring.add_version(ws)
        rt.vault.forget(ws)
        click.echo(f"workspace {workspace}: new data is sealed under data key version {version}")
        return
    vault = open_vault(settings, existing=True)
    done = rotate_master(vault.keyring, key_source(settings), new_key_file)
    click.echo(
        f"re-wrapped {done.data_keys} data keys: master key {done.old_key_id} -> {done.new_key_id}, "
        f"written to {done.key_file}"
    )
    if settings.master_key or new_key_file is not None:
        click.echo(f"start labelhouse with LABELHOUSE_MASTER_KEY_FILE={done.key_file}; destroy the old key")
