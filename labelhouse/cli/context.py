"""What CLI commands share: options, runtime and error exits for those on local state, and the
CSV rows of the files the offline ones read."""

from __future__ import annotations

import csv
import functools
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError

from labelhouse.core.errors import EXIT_CODE, Invalid, LabelhouseError, NotFound
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


def runtime_from(
    data_dir: Path | None, database_url: str | None, *, existing: bool = False, **overrides: Any
) -> Runtime:
    """The runtime on local state; ``existing``: refuse a data folder without a database instead
    of making a new install there (for commands that only read or work on what is there)."""
    settings = load_settings(data_dir=data_dir, database_url=database_url, **overrides)
    if existing and not settings.database_url and not (settings.data_dir / "labelhouse.db").exists():
        raise NotFound(
            f"no labelhouse install in {settings.data_dir.resolve()} (no labelhouse.db there): pass "
            "--data with the server's data folder (or set LABELHOUSE_DATA), or --database-url",
            field="--data",
        )
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
        except OperationalError as exc:  # the database cannot be opened or reached
            click.echo(
                f"error: the database could not be used: {exc.orig} (--database-url, --data)", err=True
            )
            sys.exit(EXIT_CODE["unavailable"])

    return wrapper  # type: ignore[return-value]


def csv_rows(lines: Iterable[str], source: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of a CSV file's rows, blank rows skipped; a row the csv module
    cannot read is Invalid naming its line (``source``: the file, for the error's field)."""
    reader = csv.reader(lines)
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, row
    except csv.Error as exc:
        raise Invalid(f"line {reader.line_num}: not valid CSV ({exc})", field=source) from exc


def not_utf8(path: Path) -> Invalid:
    """The error for a file that is not UTF-8 text, naming its first such line (a text reader
    decodes in chunks, so its own error does not say which line)."""
    line = 1
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                line = number
                break
    return Invalid(
        f"line {line}: not UTF-8 text; save the file as UTF-8, "
        f"e.g. `iconv -f latin1 -t utf-8 {path.name} > utf8.csv`",
        field=path.name,
    )
