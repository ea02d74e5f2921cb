"""``labelhouse``: serve, demo, users, import, export, worker, backup, restore, migrate."""

from __future__ import annotations

import getpass
import importlib
import json
import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from labelhouse import __version__
from labelhouse.cli.context import exits_cleanly, runtime_from, state_options
from labelhouse.formats.registry import get_reader, reader_for_filename
from labelhouse.services import accounts, exports
from labelhouse.services import items as item_service
from labelhouse.services.clock import utcnow
from labelhouse.services.operator import operator_for_project
from labelhouse.storage import backup as backups


class LazyGroup(click.Group):
    """Subcommands whose modules load only when used (click's documented lazy-loading recipe):
    ``quality`` pulls in numpy and scipy, which ``serve`` must not pay for in memory or start time."""

    LAZY = {
        "quality": "labelhouse.cli.quality:quality",
        "audit": "labelhouse.cli.audit:audit",
        "keys": "labelhouse.cli.keys:keys",
        "workspaces": "labelhouse.cli.workspaces:workspaces",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY:
            module, attr = self.LAZY[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="labelhouse")
def main() -> None:
    """labelhouse: self-hosted data labeling."""


@main.command()
@state_options
@click.option("--host", default=None, help="address to listen on [LABELHOUSE_HOST, default 127.0.0.1]")
@click.option("--port", type=int, default=None, help="port [LABELHOUSE_PORT, default 8400]")
@click.option(
    "--workers", type=int, default=None, help="HTTP worker processes, PostgreSQL only [LABELHOUSE_WORKERS]"
)
@exits_cleanly
def serve(
    data_dir: Path | None, database_url: str | None, host: str | None, port: int | None, workers: int | None
) -> None:
    """Start the server (SQLite and local files in the data folder unless --database-url)."""
    from labelhouse.cli.server import run_server

    rt = runtime_from(data_dir, database_url, host=host, port=port, workers=workers)
    run_server(rt)


@main.command()
@state_options
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@exits_cleanly
def demo(data_dir: Path | None, database_url: str | None, host: str | None, port: int | None) -> None:
    """Start the server with a demo workspace filled with three sample projects."""
    from labelhouse.cli.demo import seed_demo
    from labelhouse.cli.server import run_server

    rt = runtime_from(data_dir or Path("./labelhouse-demo"), database_url, host=host, port=port)
    logins = seed_demo(rt)
    url = f"http://{rt.settings.host}:{rt.settings.port}"
    click.echo(f"demo workspace ready: open {url}/ in a browser (API: {url}/api/v1, docs: {url}/api/v1/docs)")
    for email, password, token, role in logins:
        click.echo(f"  {role:<9} {email}  password: {password}  token: {token}")
    click.echo(
        f"  log in: curl -X POST {url}/api/v1/auth/login -H 'content-type: application/json' "
        f'-d \'{{"email": "{logins[0][0]}", "password": "{logins[0][1]}"}}\''
    )
    run_server(rt)


@main.group()
def users() -> None:
    """Manage users on local state."""


@users.command("create")
@click.argument("email")
@click.option("--workspace", required=True, help="workspace name (created if new)")
@click.option(
    "--role",
    default="annotator",
    show_default=True,
    type=click.Choice(["owner", "manager", "reviewer", "annotator"]),
)
@click.option("--token", "with_token", is_flag=True, help="print a new API token for scripts")
@click.option("--password-stdin", is_flag=True, help="read a password from standard input")
@click.option("--password-prompt", is_flag=True, help="ask for a password")
@state_options
@exits_cleanly
def users_create(
    email: str,
    workspace: str,
    role: str,
    with_token: bool,
    password_stdin: bool,
    password_prompt: bool,
    data_dir: Path | None,
    database_url: str | None,
) -> None:
    """Create a user (and the workspace if new) with a role; --token prints an API token.

    On an existing user, a password option resets the password and revokes every session and
    API token of theirs."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif password_prompt:
        password = getpass.getpass("password: ")
    rt = runtime_from(data_dir, database_url)
    with rt.db.session() as s:
        user, ws, issued = accounts.create_user_cli(
            s,
            email,
            workspace=workspace,
            role=role,
            password=password,
            with_token=with_token,
            now=utcnow(),
            reset=True,  # a new password for an existing user ends their sessions and tokens
        )
        user_email, ws_name = user.email, ws.name
    if issued is not None:
        click.echo(issued.token)
        click.echo(f"created {user_email} as {role} in {ws_name!r}; the token above is shown once", err=True)
    else:
        click.echo(f"created {user_email} as {role} in {ws_name!r}")


@users.command("team")
@click.argument("email")
@click.argument("team")
@click.option("--workspace", required=True, help="the workspace the member belongs to")
@state_options
@exits_cleanly
def users_team(
    email: str, team: str, workspace: str, data_dir: Path | None, database_url: str | None
) -> None:
    """Put a member in a vendor TEAM ("" removes them from their team); the quality report
    groups reliability and gold scores by team."""
    from labelhouse.services.members import set_team_operator

    rt = runtime_from(data_dir, database_url, existing=True)
    with rt.db.session() as s:
        member = set_team_operator(s, workspace, email, team, now=utcnow())
    click.echo(f"{member.email} is in team {member.team}" if member.team else f"{member.email} has no team")


@main.command("import")
@click.argument("project", type=int)
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    default=None,
    help="jsonl, json, csv or images (default: by file name; a folder is images)",
)
@state_options
@exits_cleanly
def import_cmd(
    project: int, file: Path, fmt: str | None, data_dir: Path | None, database_url: str | None
) -> None:
    """Import items into PROJECT from FILE (JSONL, JSON, CSV, a zip or folder of images)."""
    rt = runtime_from(data_dir, database_url, existing=True)
    with rt.db.session(write=False) as s:
        actor = operator_for_project(s, project)
    if file.is_dir():
        from labelhouse.formats.images import read_folder

        paths = [p for p in file.rglob("*") if p.is_file()]
        bar = tqdm(total=len(paths), unit="file", desc="import")
        rows = read_folder(file)
        result = item_service.import_stream(
            rt.db.session,
            actor,
            project,
            rows,
            blobs=rt.blobs,
            now=utcnow,
            on_progress=lambda n, _r: bar.update(n - bar.n),
            batch_size=200,
        )
        bar.close()
    else:
        reader = get_reader(fmt) if fmt else reader_for_filename(file.name)
        size = file.stat().st_size
        with file.open("rb") as raw, tqdm(total=size, unit="B", unit_scale=True, desc="import") as bar:
            # The bar follows the file position once a batch, not every line: cheap at a million rows.
            result = item_service.import_stream(
                rt.db.session,
                actor,
                project,
                reader.read(raw),
                blobs=rt.blobs,
                now=utcnow,
                on_progress=lambda _n, _r: bar.update(raw.tell() - bar.n),
                outbound=rt.outbound,
            )
            bar.update(size - bar.n)
    click.echo(f"created {result.created}, duplicates {result.duplicates}, failed {result.failed}")
    for error in result.errors[:20]:
        click.echo(f"  {error['message']}", err=True)
    if result.failed > 20:
        click.echo(f"  ... and {result.failed - 20} more", err=True)


@main.command()
@click.argument("project", type=int)
@click.option("--format", "fmt", default="jsonl", show_default=True, help="jsonl, csv, coco, sft or dpo")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="file to write (default: standard output)"
)
@state_options
@exits_cleanly
def export(project: int, fmt: str, out: Path | None, data_dir: Path | None, database_url: str | None) -> None:
    """Export PROJECT's annotations, streamed, with a progress bar."""
    rt = runtime_from(data_dir, database_url, existing=True)
    with rt.db.session() as s:
        actor = operator_for_project(s, project)
        plan = exports.plan_export(s, actor, project, fmt, now=utcnow())
    bar = tqdm(total=plan.total_tasks, unit="task", desc="export", disable=out is None)
    sink = out.open("wb") if out else sys.stdout.buffer
    try:
        for chunk in exports.stream(
            lambda: rt.db.session(write=False), plan, on_progress=lambda n: bar.update(n - bar.n)
        ):
            sink.write(chunk)
    finally:
        bar.close()
        if out:
            sink.close()
    if out:
        click.echo(f"wrote {out}", err=True)


@main.command()
@state_options
@click.option("--once", is_flag=True, help="run the queued jobs, then stop")
@exits_cleanly
def worker(data_dir: Path | None, database_url: str | None, once: bool) -> None:
    """Run background jobs (imports) from the job table."""
    from labelhouse.worker import run_one

    rt = runtime_from(data_dir, database_url)
    while True:
        ran = run_one(rt)
        if not ran:
            if once:
                return
            time.sleep(1.0)


@main.command()
@click.argument("target", type=click.Path(path_type=Path))
@state_options
@exits_cleanly
def backup(target: Path, data_dir: Path | None, database_url: str | None) -> None:
    """Copy a running install (database and blobs) into TARGET, consistently."""
    rt = runtime_from(data_dir, database_url, existing=True)
    manifest = backups.backup(rt.settings.db_url, rt.settings.blob_dir, target)
    click.echo(json.dumps(manifest))


@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="replace an existing database (stop the server first)")
@state_options
@exits_cleanly
def restore(source: Path, force: bool, data_dir: Path | None, database_url: str | None) -> None:
    """Bring back a backup made by `labelhouse backup`."""
    from labelhouse.settings import load_settings

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    manifest = backups.restore(source, settings.db_url, settings.blob_dir, force=force)
    rt = runtime_from(data_dir, database_url)  # migrate the restored database to this version
    click.echo(f"restored a {manifest['kind']} backup from {manifest['created_at']}")
    from labelhouse.services.workspaces import key_states

    with rt.db.session(write=False) as s:
        for name, state in key_states(s):
            click.echo(f"  workspace {name}: {state}")


@main.command()
@state_options
@exits_cleanly
def migrate(data_dir: Path | None, database_url: str | None) -> None:
    """Bring the database schema up to date (serve does this too)."""
    runtime_from(data_dir, database_url)
    click.echo("database is up to date")


if __name__ == "__main__":
    main()
