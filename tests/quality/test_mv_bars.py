"""The adaptive-overlap replay's bar: majority vote over all answers, a tie scored as a coin flip
(bench/quality/adaptive.py, ``mv_bars``), by hand and under renamed classes and annotators."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "quality" / "adaptive.py"


@pytest.fixture(scope="module")
def adaptive() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_adaptive", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved  # the script puts its own folder first
    return module


ANSWERS = {
    "clear": [("w1", "a"), ("w2", "a"), ("w3", "b")],  # a wins, truth a
    "tie2": [("w1", "a"), ("w2", "b")],  # a-b tie, truth b
    "tie3": [("w1", "a"), ("w2", "b"), ("w3", "c")],  # three-way tie, truth c
    "wrong": [("w1", "c"), ("w2", "c"), ("w3", "a")],  # c wins, truth a
}
TRUTH = {"clear": "a", "tie2": "b", "tie3": "c", "wrong": "a"}
OPTIONS = ["a", "b", "c"]


def test_by_hand(adaptive: ModuleType) -> None:
    bars = adaptive.mv_bars(ANSWERS, TRUTH, OPTIONS)
    # fair: 1 + 1/2 + 1/3 + 0 of 4; first: clear only (a, a); last: clear, tie2 (b), tie3 (c)
    assert bars["mv_fair"] == pytest.approx(100 * (1 + 1 / 2 + 1 / 3) / 4)
    assert bars["mv_first"] == pytest.approx(25.0)
    assert bars["mv_last"] == pytest.approx(75.0)
    assert bars["ties"] == 2


def test_invariant_to_renaming_classes_and_annotators(adaptive: ModuleType) -> None:
    """Reversing the classes' names swaps first and last and leaves the fair bar alone; so does
    renaming the annotators (nothing moves)."""
    rename = {"a": "z", "b": "y", "c": "x"}
    answers = {i: [(f"u{w}", rename[lab]) for w, lab in given] for i, given in ANSWERS.items()}
    truth = {i: rename[t] for i, t in TRUTH.items()}
    before = adaptive.mv_bars(ANSWERS, TRUTH, OPTIONS)
    after = adaptive.mv_bars(answers, truth, sorted(rename.values()))
    assert after["mv_fair"] == pytest.approx(before["mv_fair"])
    assert after["mv_first"] == pytest.approx(before["mv_last"])
    assert after["mv_last"] == pytest.approx(before["mv_first"])
