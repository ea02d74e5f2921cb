"""Load the shared crowd datasets (answers + truth) for the benchmarks and tests."""

from __future__ import annotations

import csv
import os
from pathlib import Path

# shared/ sits beside the repository; a git worktree elsewhere points at it with LABELHOUSE_SHARED
SHARED = Path(os.environ.get("LABELHOUSE_SHARED") or Path(__file__).resolve().parents[3] / "shared")
CROWD = SHARED / "datasets" / "crowd"
PREFERENCES = SHARED / "datasets" / "preferences"


def dataset_names() -> list[str]:
    return sorted(
        p.name for p in CROWD.iterdir() if (p / "truth.csv").exists() and (p / "answers.csv").exists()
    )


def load(name: str) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """(item, worker, label) rows and {item: true label}."""
    with (CROWD / name / "answers.csv").open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        rows = [(r[0], r[1], r[2]) for r in reader]
    with (CROWD / name / "truth.csv").open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        truth = {r[0]: r[1] for r in reader}
    return rows, truth
