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
    """Check every event's hash and link in every lane; exit 10 and name the lanes and events when a
    chain is broken."""
    rt = runtime_from(data_dir, database_url, existing=True)
    with rt.db.session(write=False) as s:
        report = audit_service.verify_lanes(s, workspace)
    broken = False
    for name, checks in report.items():
        events = sum(c.events for c in checks.values())
        bad = {lane: c for lane, c in checks.items() if c.problems}
        summary = f"{events} events in {len(checks)} lanes"
        if not bad:
            click.echo(f"{name}: intact ({summary})")
            continue
        broken = True
        click.echo(f"{name}: BROKEN ({summary}; {len(bad)} broken)")
        for lane, check in bad.items():
            click.echo(f"  lane {lane}: BROKEN")
            for problem in check.problems[:50]:
                click.echo(f"    {problem}")
    if broken:
        sys.exit(10)


@audit.command("export")
@click.option("--workspace", required=True, help="the workspace whose log to export")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="file (default: standard output)")
@state_options
@exits_cleanly
def export_log(workspace: str, out: Path | None, data_dir: Path | None, database_url: str | None) -> None:
    """Write the workspace's events as JSONL, one per line, with their lanes and hashes: lane
    ``main`` first, then each user's lane by user id, each lane in sequence order."""
    rt = runtime_from(data_dir, database_url, existing=True)
    sink = out.open("wb") if out else sys.stdout.buffer
    try:
        with rt.db.session(write=False) as s:
            ws = audit_service.workspace_id_of(s, workspace)
            for event in audit_service.iter_log(s, ws):
                sink.write(orjson.dumps(audit_service.as_dict(event)) + b"\n")
    finally:
        if out:
            sink.close()
