"""What every CLI command that works on local state shares: options, runtime, error exits."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from labelhouse.core.errors import EXIT_CODE, LabelhouseError
from labelhouse.runtime import Runtime, open_runtime
from labelhouse.settings import load_settings

F = TypeVar("F", bound=Callable[..., Any])


def state_options(fn: F) -> F:
    """``--data`` and ``--database-url`` (also LABELHOUSE_DATA / LABELHOUSE_DATABASE_URL)."""
    fn = click.option(
        "--database-url",
        default=None,
        help="database URL (default: SQLite in the data folder) [LABELHOUSE_DATABASE_URL]",
    )(fn)
    fn = click.option(
        "--data",
        "data_dir",
        type=click.Path(path_type=Path),
        default=None,
        help="data folder [LABELHOUSE_DATA, default ./labelhouse-data]",
    )(fn)
    return fn


def runtime_from(data_dir: Path | None, database_url: str | None, **overrides: Any) -> Runtime:
    settings = load_settings(data_dir=data_dir, database_url=database_url, **overrides)
    return open_runtime(settings)


def exits_cleanly(fn: F) -> F:
    """Turn a domain error into its message on stderr and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LabelhouseError as exc:
            where = f" ({exc.field})" if exc.field else ""
            click.echo(f"error: {exc.message}{where}", err=True)
            sys.exit(EXIT_CODE.get(exc.code, 1))

    return wrapper  # type: ignore[return-value]
