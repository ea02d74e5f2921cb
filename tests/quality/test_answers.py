"""Coding answers: names to codes, duplicates (the last answer wins), bad codes."""

from __future__ import annotations

import numpy as np
import pytest

from labelhouse.core.errors import Invalid
from labelhouse.quality import Answers


def test_from_triples_codes_in_first_seen_order_and_sorts_classes_numerically() -> None:
    a = Answers.from_triples([("b", "w1", "10"), ("a", "w2", "2"), ("b", "w2", "2")])
    assert a.tasks == ("b", "a")
    assert a.workers == ("w1", "w2")
    assert a.classes == ("2", "10")
    assert a.task.tolist() == [0, 1, 0]
    assert a.label.tolist() == [1, 0, 0]
    assert (a.n_tasks, a.n_workers, a.n_classes) == (2, 2, 2)


def test_class_order_does_not_depend_on_row_order_with_a_nan_label() -> None:
    # "nan" parses as a float that compares with nothing, so a numeric sort kept the order of
    # first appearance, and a tie went to a different class when the rows came in another order
    rows = [("a", "w1", "nan"), ("a", "w2", "1"), ("b", "w1", "2")]
    first = Answers.from_triples(rows).classes
    assert Answers.from_triples(rows[::-1]).classes == first == ("1", "2", "nan")


def test_duplicate_answers_keep_the_last() -> None:
    a = Answers.from_triples([("t", "w", "x"), ("t", "v", "x"), ("t", "w", "y")])
    assert a.n_answers == 2
    pairs = {(a.workers[w], a.classes[lab]) for w, lab in zip(a.worker, a.label, strict=True)}
    assert pairs == {("v", "x"), ("w", "y")}


def test_from_codes_checks_ranges() -> None:
    with pytest.raises(Invalid):
        Answers.from_codes([0, 1], [0, 0], [0, 3], n_classes=2)
    with pytest.raises(Invalid):
        Answers.from_codes([0, -1], [0, 0], [0, 1])
    with pytest.raises(Invalid):
        Answers.from_codes([0, 1], [0], [0, 1])


def test_explicit_counts_allow_tasks_and_classes_without_answers() -> None:
    a = Answers.from_codes([0], [0], [0], n_tasks=3, n_workers=2, n_classes=4)
    assert (a.n_tasks, a.n_workers, a.n_classes) == (3, 2, 4)
    assert isinstance(a.task, np.ndarray)


def test_given_classes_reject_unknown_labels() -> None:
    with pytest.raises(Invalid):
        Answers.from_triples([("t", "w", "z")], classes=["x", "y"])
    a = Answers.from_triples([("t", "w", "y")], classes=["x", "y", "never"])
    assert a.n_classes == 3 and a.label.tolist() == [1]
