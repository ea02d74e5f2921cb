"""``labelhouse quality``: truth inference over a CSV of answers, without a server or database."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import click
import orjson

from labelhouse.cli.context import exits_cleanly, runtime_from, state_options
from labelhouse.core.errors import Invalid
from labelhouse.quality import DEFAULT_METHOD, Answers, get_method, method_names

HEADER_WORDS = (
    {"item", "task", "id", "item_id", "task_id"},
    {"worker", "annotator", "user"},
    {"label", "answer"},
)


class _QualityGroup(click.Group):
    """``labelhouse quality PROJECT`` reports on a project; ``quality infer|methods|report`` as usual."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0].isdigit():
            return "report", self.commands["report"], args
        return super().resolve_command(ctx, args)


@click.group(cls=_QualityGroup)
def quality() -> None:
    """Truth inference: consensus labels and confidence from several answers per item.

    `labelhouse quality PROJECT` prints a project's report (the same as `quality report PROJECT`).
    """


@quality.command("report")
@click.argument("project", type=int)
@click.option(
    "--method", default=None, help="see `labelhouse quality methods` (default: the documented default)"
)
@click.option("--json", "as_json", is_flag=True, help="print the whole report as JSON")
@state_options
@exits_cleanly
def report_cmd(
    project: int, method: str | None, as_json: bool, data_dir: Path | None, database_url: str | None
) -> None:
    """Consensus confidence, annotator reliability and gold scores of PROJECT, on local state."""
    from labelhouse.services.operator import operator_for_project
    from labelhouse.services.quality import project_quality

    rt = runtime_from(data_dir, database_url)
    with rt.db.session(write=False) as s:
        report = project_quality(s, operator_for_project(s, project), project, method=method)
    if as_json:
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    for name, control in report["controls"].items():
        mean = control["mean_confidence"]
        alpha = control["krippendorff_alpha"]
        click.echo(
            f"{name} ({control['method']}): {control['tasks']} tasks, {control['answers']} answers, "
            f"mean confidence {'-' if mean is None else f'{mean:.3f}'}, "
            f"{control['low_confidence_tasks']} below 0.8, alpha {'-' if alpha is None else f'{alpha:.3f}'}"
        )
        click.echo(f"  {'annotator':<32} {'answers':>7} {'reliability':>11} {'gold':>12}")
        for a in control["annotators"]:
            g = a["gold"]
            gold = f"{g['correct']}/{g['answered']}" if g["answered"] else "-"
            rel = "-" if a["reliability"] is None else f"{a['reliability']:.3f}"
            click.echo(f"  {a['annotator']:<32} {a['answers']:>7} {rel:>11} {gold:>12}")
    if not report["controls"]:
        click.echo("this project has no single-choice control to report on")


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
