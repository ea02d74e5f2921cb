"""Running the HTTP server: first-start bootstrap message, then uvicorn."""

from __future__ import annotations

import os

import click
import uvicorn

from labelhouse.api.app import create_app
from labelhouse.api.onewrite import OneWriteHttpToolsProtocol
from labelhouse.runtime import Runtime
from labelhouse.services import accounts

# Live connection caps per server process (ATTACKS ): past 1,000 open connections or
# tasks uvicorn answers 503 at once instead of queueing without bound; an idle keep-alive
# connection is closed after 5 s; one HTTP event (headers) is at most 64 KiB. Slow-header
# (slowloris) protection needs the reverse proxy in front (see docs/security.md).
MAX_CONNECTIONS = 1000
KEEP_ALIVE_S = 5
MAX_HEADER_BYTES = 64 * 1024


def run_server(rt: Runtime) -> None:
    with rt.db.session() as s:
        token = accounts.make_bootstrap_token(s)
    url = f"http://{rt.settings.host}:{rt.settings.port}"
    if token is not None:
        click.echo("No account exists yet. Create the first owner, either with")
        click.echo(
            f"  labelhouse users create you@example.com --workspace main --role owner --token --data {rt.settings.data_dir}"
        )
        click.echo("or once, over HTTP, with this bootstrap token:")
        click.echo(
            f"  curl -X POST {url}/api/v1/bootstrap -H 'content-type: application/json' "
            f'-d \'{{"token": "{token}", "email": "you@example.com", "password": "...", "workspace": "main"}}\''
        )
    click.echo(f"labelhouse on {url} ({rt.db.dialect}; data in {rt.settings.data_dir})", err=True)
    if rt.settings.workers > 1 and not rt.db.is_sqlite:
        # Several processes need the app by import path; settings travel in the environment.
        os.environ.update(
            LABELHOUSE_DATA=str(rt.settings.data_dir), LABELHOUSE_DATABASE_URL=rt.settings.database_url
        )
        uvicorn.run(
            "labelhouse.api.factory:app_from_env",
            factory=True,
            workers=rt.settings.workers,
            host=rt.settings.host,
            port=rt.settings.port,
            log_level=rt.settings.log_level,
            access_log=False,
            http=OneWriteHttpToolsProtocol,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=KEEP_ALIVE_S,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        )
        return
    app = create_app(rt)
    uvicorn.run(
        app,
        host=rt.settings.host,
        port=rt.settings.port,
        log_level=rt.settings.log_level,
        access_log=False,
        http=OneWriteHttpToolsProtocol,
        timeout_graceful_shutdown=5,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
