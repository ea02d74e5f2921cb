"""``labelhouse quality``: truth inference over a CSV of answers, without a server or database."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from labelhouse.cli.context import exits_cleanly
from labelhouse.core.errors import Invalid
from labelhouse.quality import DEFAULT_METHOD, Answers, get_method, method_names

HEADER_WORDS = (
    {"item", "task", "id", "item_id", "task_id"},
    {"worker", "annotator", "user"},
    {"label", "answer"},
)


@click.group()
def quality() -> None:
    """Truth inference: consensus labels and confidence from several answers per item."""


@quality.command("methods")
def methods_cmd() -> None:
    """List the truth-inference methods (the default is marked)."""
    for name in method_names():
        mark = " (default)" if name == DEFAULT_METHOD else ""
        click.echo(f"{name}{mark}\t{get_method(name).summary}")


@quality.command("infer")
@click.argument(
    "answers_csv", metavar="ANSWERS.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--method", default=DEFAULT_METHOD, show_default=True, help="see `labelhouse quality methods`")
@click.option("--seed", default=0, show_default=True, help="seed for methods that draw random numbers")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="file to write (default: stdout)",
)
@exits_cleanly
def infer_cmd(answers_csv: Path, method: str, seed: int, out: Path | None) -> None:
    """Read item,worker,label rows (a header line is optional) and write item,label,confidence.

    When a worker answered an item more than once, their last row counts."""
    chosen = get_method(method)
    with answers_csv.open(newline="", encoding="utf-8-sig") as f:
        answers = Answers.from_triples(read_answers(f, answers_csv.name))
    if answers.n_answers == 0:
        raise Invalid(
            f"{answers_csv} has no answers: expected item,worker,label rows", field=str(answers_csv)
        )
    result = chosen.infer(answers, seed=seed)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["item", "label", "confidence"])
    labels, confidence = result.labels, result.confidence
    for i, item in enumerate(answers.tasks):
        writer.writerow([item, answers.classes[labels[i]], f"{confidence[i]:.6f}"])
    if out is None:
        sys.stdout.write(buf.getvalue())
    else:
        out.write_text(buf.getvalue(), encoding="utf-8")
        click.echo(f"wrote {len(answers.tasks)} items to {out} ({chosen.name})", err=True)


def read_answers(lines: Iterable[str], source: str = "answers") -> Iterator[tuple[str, str, str]]:
    """(item, worker, label) from CSV rows; skips a header line and blank lines; Invalid names the line."""
    reader = csv.reader(lines)
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 3:
                raise Invalid(
                    f"line {line}: expected 3 fields item,worker,label, found {len(row)}", field=source
                )
            cells = [cell.strip() for cell in row]
            if line == 1 and all(c.lower() in words for c, words in zip(cells, HEADER_WORDS, strict=True)):
                continue
            if not all(cells):
                raise Invalid(f"line {line}: item, worker and label must not be empty", field=source)
            yield cells[0], cells[1], cells[2]
    except csv.Error as exc:
        raise Invalid(f"line {reader.line_num}: not valid CSV ({exc})", field=source) from exc
