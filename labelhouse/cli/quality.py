"""``labelhouse quality``: truth inference over a CSV of answers, without a server or database."""

from __future__ import annotations

import csv
import io
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click
import orjson

from labelhouse.cli.context import csv_rows, exits_cleanly, not_utf8, runtime_from, state_options
from labelhouse.cli.ranking import group_lines, rank_cmd, within_pairs_line
from labelhouse.core.errors import Conflict, Invalid
from labelhouse.formats.csvfile import neutralize
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


quality.add_command(rank_cmd)


@quality.command("report")
@click.argument("project", type=click.IntRange(1, 2**63 - 1))
@click.option(
    "--method", default=None, help="see `labelhouse quality methods` (default: the documented default)"
)
@click.option("--stored", is_flag=True, help="print the latest recompute job's result instead of computing")
@click.option("--json", "as_json", is_flag=True, help="print the whole report as JSON")
@state_options
@exits_cleanly
def report_cmd(
    project: int,
    method: str | None,
    stored: bool,
    as_json: bool,
    data_dir: Path | None,
    database_url: str | None,
) -> None:
    """Per control of PROJECT: consensus confidence, agreement, annotator reliability and gold
    scores, teams, and leaderboards, on local state."""
    from labelhouse.services.operator import operator_for_project
    from labelhouse.services.quality import project_quality

    rt = runtime_from(data_dir, database_url, existing=True)
    with rt.db.session(write=False) as s:
        report = project_quality(s, operator_for_project(s, project), project, method=method, stored=stored)
    if as_json:
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    print_report(report)


@quality.command("recompute")
@click.argument("project", type=click.IntRange(1, 2**63 - 1))
@click.option(
    "--method", default=None, help="see `labelhouse quality methods` (default: the documented default)"
)
@state_options
@exits_cleanly
def recompute_cmd(project: int, method: str | None, data_dir: Path | None, database_url: str | None) -> None:
    """Recompute PROJECT's report as a job (any size), here and now, with a progress bar; the
    report (`quality PROJECT --stored`, and the server's) then reads the stored result."""
    from labelhouse.services.clock import utcnow
    from labelhouse.services.operator import operator_for_project
    from labelhouse.services.quality_jobs import start_recompute
    from labelhouse.storage.tables import Job
    from labelhouse.worker import run_claimed

    rt = runtime_from(data_dir, database_url, existing=True)
    with rt.db.session() as s:
        job = start_recompute(
            s, operator_for_project(s, project), project, method=method, now=utcnow(), capped=False
        )
        if job.state == "running":  # a worker is computing this very report now
            raise Conflict(
                f"job {job.id} is already recomputing project {project} ({job.done}/{job.total} steps); "
                f"wait for it, then read `labelhouse quality report {project} --stored`"
            )
        # claimed at once, so a running `labelhouse worker` or server does not take it too
        now = utcnow()
        job.state, job.started_at, job.heartbeat_at = "running", now, now
        s.flush()
        s.expunge(job)
    total = job.total or 1
    with click.progressbar(length=total, label=f"job {job.id}: recomputing quality", file=sys.stderr) as bar:
        done = threading.Event()

        def follow() -> None:
            seen = 0
            while not done.wait(0.2):
                with rt.db.session(write=False) as s:
                    now_done = int(getattr(s.get(Job, job.id), "done", 0) or 0)
                bar.update(now_done - seen)
                seen = now_done

        watcher = threading.Thread(target=follow, daemon=True)
        watcher.start()
        try:
            run_claimed(rt, job)
        finally:
            done.set()
            watcher.join()
        with rt.db.session(write=False) as s:
            ended = s.get(Job, job.id)
            assert ended is not None
            bar.update(total - bar.pos)
    if ended.state != "succeeded":
        raise Invalid(f"job {job.id} failed: {ended.error}", field="job")
    click.echo(f"job {job.id} stored the report; read it with `labelhouse quality report {project} --stored`")


def print_report(report: dict[str, Any]) -> None:
    """The report as text: a line per control, its agreement, and a table of annotators."""
    if report.get("computed_at"):
        click.echo(f"stored report computed at {report['computed_at']} (job {report.get('job_id')})")
    for name, c in report["controls"].items():
        mean = c["mean_confidence"]
        agreement = c.get("agreement") or {}
        alpha = agreement.get("krippendorff_alpha")
        parts = [f"alpha {alpha:.3f}"] if alpha is not None else []
        if agreement.get("fleiss_kappa") is not None:
            parts.append(f"Fleiss' kappa {agreement['fleiss_kappa']:.3f}")
        if agreement.get("mean_pairwise") is not None:
            parts.append(f"mean pairwise {agreement['pair_measure']} {agreement['mean_pairwise']:.3f}")
        extra = ", ".join(parts)
        click.echo(
            f"{name} [{c['type']}] ({c['method']}): {c['tasks']} tasks, {c['answers']} answers, "
            f"mean confidence {'-' if mean is None else f'{mean:.3f}'}, "
            f"{c['low_confidence_tasks']} below {c.get('low_confidence_below', 0.8)}; {extra or 'agreement -'}"
        )
        if c.get("method_note"):
            click.echo(f"  note: {c['method_note']}")
        for label in agreement.get("per_label") or []:
            value = label.get("alpha", label.get("f1"))
            click.echo(f"  label {label['label']}: {'-' if value is None else f'{value:.3f}'}")
        click.echo(f"  {'annotator':<32} {'team':<12} {'answers':>7} {'reliability':>11} {'gold':>12}")
        for a in c["annotators"]:
            g = a["gold"]
            gold = f"{g['correct']}/{g['answered']}" if g["answered"] else "-"
            rel = "-" if a["reliability"] is None else f"{a['reliability']:.3f}"
            click.echo(
                f"  {a['annotator']:<32} {a.get('team') or '-':<12} {a['answers']:>7} {rel:>11} {gold:>12}"
            )
        board = c.get("leaderboard")
        if board and board["entries"]:
            click.echo(f"  leaderboard ({board['ranks']}, Bradley-Terry with 95% interval, Elo):")
            for e in board["entries"]:
                click.echo(
                    f"  {e['rank']:>3}. {e['name']:<28} {e['score']:+.3f} "
                    f"[{e['ci95'][0]:+.3f}, {e['ci95'][1]:+.3f}]  Elo {e['elo']:.0f}"
                )
            for line in group_lines(board):
                click.echo(f"  {line}")
            bias = board["position_bias"]
            click.echo(
                f"  position bias: first shown wins {100 * bias['left_rate']:.1f}% "
                f"[{100 * bias['ci95'][0]:.1f}, {100 * bias['ci95'][1]:.1f}] of "
                f"{bias['left_wins'] + bias['right_wins']} decided votes "
                f"({bias['ties']} tie{'' if bias['ties'] == 1 else 's'}), p = {bias['p_value']:.4g}"
            )
            if within := within_pairs_line(bias):
                click.echo(f"  {within}")
    if not report["controls"]:
        click.echo("this project has no control the report covers")


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
@click.option(
    "--header/--no-header",
    default=None,
    help="the first line is (not) a header [default: a header when it reads item,worker,label or similar]",
)
@exits_cleanly
def infer_cmd(answers_csv: Path, method: str, seed: int, out: Path | None, header: bool | None) -> None:
    """Read item,worker,label rows (a header line is optional) and write item,label,confidence.

    When a worker answered an item more than once, their last row counts."""
    chosen = get_method(method)
    first: list[tuple[str, str, str]] = []
    try:
        with answers_csv.open(newline="", encoding="utf-8-sig") as f:
            answers = Answers.from_triples(read_answers(f, answers_csv.name, header, first))
    except UnicodeDecodeError as exc:
        raise not_utf8(answers_csv) from exc
    if answers.n_answers == 0:
        raise Invalid(
            f"{answers_csv} has no answers: expected item,worker,label rows", field=str(answers_csv)
        )
    if header is None and first and _looks_like_a_header(answers, first[0]):
        click.echo(
            f"warning: line 1 {','.join(first[0])!r} was read as an answer, but its item, worker and label "
            "appear nowhere else; if it is a header, pass --header",
            err=True,
        )
    try:
        result = chosen.infer(answers, seed=seed)
    except MemoryError:
        raise Invalid(
            f"not enough memory for {chosen.name} on {answers.n_workers} workers and "
            f"{answers.n_classes} distinct labels (the Dawid-Skene methods keep a labels x labels matrix per "
            "worker): try --method mv, wawa, one_coin, glad or mace",
            field="--method",
        ) from None
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["item", "label", "confidence"])
    labels, confidence = result.labels, result.confidence
    for i, item in enumerate(answers.tasks):
        writer.writerow([_cell(str(item)), _cell(answers.classes[labels[i]]), f"{confidence[i]:.6f}"])
    if out is None:
        sys.stdout.write(buf.getvalue())
    else:
        try:
            out.write_text(buf.getvalue(), encoding="utf-8")
        except OSError as exc:
            raise Invalid(f"cannot write {out}: {exc.strerror or exc}", field="--out") from exc
        click.echo(f"wrote {len(answers.tasks)} items to {out} ({chosen.name})", err=True)


def read_answers(
    lines: Iterable[str],
    source: str = "answers",
    header: bool | None = None,
    first: list[tuple[str, str, str]] | None = None,
) -> Iterator[tuple[str, str, str]]:
    """(item, worker, label) from CSV rows; skips blank lines and a header line (``header``: the
    first line is one or is not; None: when its fields are known column names); Invalid names the
    line. ``first`` receives the first row read as an answer when it is line 1."""
    for line, row in csv_rows(lines, source):
        if len(row) != 3:
            raise Invalid(f"line {line}: expected 3 fields item,worker,label, found {len(row)}", field=source)
        cells = [cell.strip() for cell in row]
        if line == 1:
            known = all(c.lower() in words for c, words in zip(cells, HEADER_WORDS, strict=True))
            if header or (header is None and known):
                continue
            if first is not None:
                first.append((cells[0], cells[1], cells[2]))
        if not all(cells):
            raise Invalid(f"line {line}: item, worker and label must not be empty", field=source)
        yield cells[0], cells[1], cells[2]


def _looks_like_a_header(answers: Answers, row: tuple[str, str, str]) -> bool:
    """Whether a first row read as an answer is more likely an unrecognised header: in a file of 10
    answers or more, its item, its worker and its label each occur in no other row."""
    if answers.n_answers < 10:
        return False
    import numpy as np

    item, worker, label = row
    codes = (
        (answers.task, answers.tasks.index(item) if item in answers.tasks else -1),
        (answers.worker, answers.workers.index(worker) if worker in answers.workers else -1),
        (answers.label, answers.classes.index(label) if label in answers.classes else -1),
    )
    return all(code >= 0 and int(np.count_nonzero(column == code)) == 1 for column, code in codes)


def _cell(text: str) -> str:
    """An output cell as it came in, except one a spreadsheet would run as a formula, which gets a
    leading ``'`` (as exports); a plain number such as ``-1``, a common label, is left alone."""
    try:
        float(text)
    except ValueError:
        return neutralize(text)
    return text
