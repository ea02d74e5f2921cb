"""``labelhouse quality rank VOTES.csv``: a leaderboard from pairwise votes made elsewhere, with no
server: Bradley-Terry with ties and 95 % bootstrap intervals, Elo, and the left/right position
bias, the same numbers a preference project's report gives (``quality.leaderboard``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from labelhouse.cli.context import csv_rows, exits_cleanly, not_utf8
from labelhouse.core.errors import Invalid

# winner spellings: ours (a / b / tie) and Chatbot Arena's (model_a / model_b / tie (bothbad))
WINNERS = {"a": "a", "b": "b", "tie": "tie", "model_a": "a", "model_b": "b", "tie (bothbad)": "tie"}
HEADER_WINNER = {"winner", "win", "preferred", "choice"}
SEPARATORS = {";": "';'", "\t": "a tab", "|": "'|'"}  # what a spreadsheet may have saved instead


def read_votes(lines: Iterable[str], source: str = "votes") -> Iterator[tuple[str, str, str]]:
    """``(left, right, winner)`` from CSV rows ``left,right,winner[,anything else]``; a header line
    (its third field ``winner``) and blank lines are skipped; Invalid names the line."""
    for line, row in csv_rows(lines, source):
        if len(row) < 3:
            other = next((name for sep, name in SEPARATORS.items() if len(row) == 1 and sep in row[0]), None)
            hint = f"; fields are separated by commas, this line by {other}" if other else ""
            raise Invalid(
                f"line {line}: expected left,right,winner (more fields are ignored), found {len(row)}{hint}",
                field=source,
            )
        left, right, winner = (cell.strip() for cell in row[:3])
        if line == 1 and winner.lower() in HEADER_WINNER:
            continue
        if not left or not right:
            raise Invalid(f"line {line}: the two names must not be empty", field=source)
        if winner.lower() not in WINNERS:
            others = ", ".join(sorted(HEADER_WINNER - {"winner"}))
            header = f"; a header line is skipped when its third field is winner (or {others})"
            raise Invalid(
                f"line {line}: winner {winner[:40]!r} is not one of: {', '.join(WINNERS)}"
                f"{header if line == 1 else ''}",
                field=source,
            )
        yield left, right, WINNERS[winner.lower()]


def group_lines(board: dict[str, Any], limit: int = 12) -> list[str]:
    """When the items fall into groups never compared with each other, a warning and each
    group's names (the first ``limit``): scores across groups mean nothing."""
    if board.get("groups", 0) < 2:
        return []
    names: dict[int, list[str]] = {}
    for e in sorted(board["entries"], key=lambda e: e["rank"]):
        names.setdefault(e["group"], []).append(e["name"])
    lines = [
        f"warning: the items fall into {board['groups']} groups never compared with each other; "
        "compare scores only within a group, or add votes across groups"
    ]
    for number, members in sorted(names.items()):
        more = f" and {len(members) - limit} more" if len(members) > limit else ""
        lines.append(f"group {number}: {', '.join(members[:limit])}{more}")
    return lines


def within_pairs_line(bias: dict[str, Any]) -> str:
    """The position effect net of the items' strengths, or why there is none ("" for a report
    stored before it was measured)."""
    if "within_pairs" not in bias:
        return ""
    within = bias["within_pairs"]
    if within is None:
        return (
            "within pairs: no pair was shown both ways, so the position cannot "
            "be told apart from the items' strength"
        )
    pairs = f"the {within['pairs']} pair{'' if within['pairs'] == 1 else 's'}"
    return (
        f"within {pairs} shown both ways ({within['votes']} votes), the first shown wins "
        f"{100 * within['left_rate']:.1f}% [{100 * within['ci95'][0]:.1f}, {100 * within['ci95'][1]:.1f}] "
        "among equals"
    )


@click.command("rank")
@click.argument(
    "votes_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="VOTES.csv"
)
@click.option("--seed", default=0, show_default=True, help="seed of the bootstrap resamples")
@click.option("--json", "as_json", is_flag=True, help="print the whole leaderboard as JSON")
@exits_cleanly
def rank_cmd(votes_csv: Path, seed: int, as_json: bool) -> None:
    """Rank from left,right,winner rows (winner a, b or tie; model_a, model_b, tie (bothbad) too;
    a header line is optional, further fields are ignored): Bradley-Terry scores with 95 %
    bootstrap intervals, Elo, wins, losses and ties, and whether the left one wins more often."""
    from labelhouse.quality.leaderboard import leaderboard

    try:
        with votes_csv.open(newline="", encoding="utf-8-sig") as f:
            read = list(read_votes(f, votes_csv.name))
    except UnicodeDecodeError as exc:
        raise not_utf8(votes_csv) from exc
    votes = [(a, b, w) for a, b, w in read if a != b]
    if not votes:
        why = (
            f"its {len(read)} vote{'s each compare' if len(read) > 1 else ' compares'} a name with itself"
            if read
            else "expected left,right,winner rows"
        )
        raise Invalid(f"{votes_csv} has no votes: {why}", field=str(votes_csv))
    board = leaderboard(votes, seed=seed)
    if as_json:
        click.echo(json.dumps(board, indent=1))
        return
    out = sys.stdout
    out.write(f"{board['votes']} votes, {board['bootstrap_samples']} bootstrap samples")
    out.write(" (a small prior keeps the scores finite)\n" if board["regularised"] else "\n")
    out.write(f"{'rank':>4}  {'name':<28} {'score':>7} {'95% interval':>18} {'elo':>7} {'W/L/T':>13}\n")
    for e in board["entries"]:
        ci = f"[{e['ci95'][0]:.3f}, {e['ci95'][1]:.3f}]"
        record = f"{e['wins']}/{e['losses']}/{e['ties']}"
        out.write(
            f"{e['rank']:>4}  {e['name'][:28]:<28} {e['score']:>7.3f} {ci:>18} {e['elo']:>7.1f} {record:>13}\n"
        )
    for line in group_lines(board):
        out.write(line + "\n")
    bias = board["position_bias"]
    out.write(
        f"position bias: the left one won {bias['left_wins']} and the right one {bias['right_wins']} "
        f"({bias['ties']} ties), left rate {bias['left_rate']:.3f} "
        f"[{bias['ci95'][0]:.3f}, {bias['ci95'][1]:.3f}], p = {bias['p_value']:.4g}\n"
    )
    out.write(within_pairs_line(bias) + "\n")
