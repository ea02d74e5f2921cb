"""``labelhouse audit``: prove each workspace's chain intact; export it for a SIEM."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from labelhouse.cli.context import exits_cleanly, runtime_from, state_options
from labelhouse.services import audit as audit_service


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command()
@click.option("--workspace", default=None, help="one workspace (default: all)")
@state_options
@exits_cleanly
def verify(workspace: str | None, data_dir: Path | None, database_url: str | None) -> None:
    """Check every event's hash and link; exit 10 and name the events when a chain is broken."""
    rt = runtime_from(data_dir, database_url)
    with rt.db.session(write=False) as s:
        report = audit_service.verify(s, workspace)
    broken = False
    for name, problems in report.items():
        if problems:
            broken = True
            click.echo(f"{name}: BROKEN")
            for problem in problems[:50]:
                click.echo(f"  {problem}")
        else:
            click.echo(f"{name}: intact")
    if broken:
        sys.exit(10)


@audit.command("export")
@click.option("--workspace", required=True, help="the workspace whose log to export")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="file (default: standard output)")
@state_options
@exits_cleanly
def export_log(workspace: str, out: Path | None, data_dir: Path | None, database_url: str | None) -> None:
    """Write the workspace's events as JSONL, one per line, with their hashes."""
    rt = runtime_from(data_dir, database_url)
    sink = out.open("wb") if out else sys.stdout.buffer
    try:
        with rt.db.session(write=False) as s:
            ws = audit_service.workspace_id_of(s, workspace)
            for event in audit_service.iter_chain(s, ws):
                sink.write(orjson.dumps(audit_service.as_dict(event)) + b"\n")
    finally:
        if out:
            sink.close()
