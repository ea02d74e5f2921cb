"""The report's loader helpers: the week of a stored time as each driver hands it over, and
pairing each agreement score with its answer's week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from labelhouse.services.quality import _with_weeks, week_of
from labelhouse.storage.rawsql import sqlite_datetime


def test_week_of_is_the_utc_monday_from_either_driver() -> None:
    cache: dict[object, object] = {}
    sunday_late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # a Sunday: its week began Monday 11-30
    assert week_of(sqlite_datetime(sunday_late), cache) == "2026-11-30"
    assert week_of(sunday_late, cache) == "2026-11-30"
    # the same instant seen in UTC+2 is Monday 12-07 locally, but the week is taken in UTC
    assert week_of(sunday_late.astimezone(timezone(timedelta(hours=2))), cache) == "2026-11-30"
    assert week_of(sqlite_datetime(sunday_late + timedelta(hours=1)), cache) == "2026-12-07"
    assert week_of(datetime(2026, 12, 7, 0, 30), cache) == "2026-12-07"  # naive: UTC


def test_scores_pair_with_their_answers_weeks() -> None:
    answers = [("1", "a", "x"), ("1", "b", "x"), ("2", "a", "y"), ("3", "a", "x"), ("3", "c", "z")]
    weeks = ["w1", "w1", "w2", "w3", "w4"]
    scores = [("1", "a", 1.0), ("1", "b", 1.0), ("3", "a", 1.0), ("3", "c", 0.0)]  # task 2 has one answer
    assert _with_weeks(scores, answers, weeks) == [
        ("a", "w1", "estimated", 1.0),
        ("b", "w1", "estimated", 1.0),
        ("a", "w3", "estimated", 1.0),
        ("c", "w4", "estimated", 0.0),
    ]
