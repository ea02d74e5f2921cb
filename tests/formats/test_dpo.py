"""DPO export: preference winners and every pair of a ranking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from labelhouse.controls import parse_schema
from labelhouse.formats import ExportAnnotation, ExportRecord, get_writer
from labelhouse.formats.dpo import ranking_pairs, response_text

AT = datetime(2024, 1, 1, tzinfo=UTC)
SCHEMA = parse_schema(
    {
        "controls": [
            {"name": "pref", "type": "preference", "over": "pair", "required": False},
            {
                "name": "rank",
                "type": "ranking",
                "over": "candidates",
                "prompt": "question",
                "required": False,
            },
        ]
    }
)


def _export(*records: ExportRecord) -> list[dict[str, Any]]:
    out = b"".join(get_writer("dpo").write(records, SCHEMA))
    return [orjson.loads(line) for line in out.splitlines()]


def _record(item: dict[str, Any], *answers: tuple[str, dict[str, Any]]) -> ExportRecord:
    annotations = tuple(
        ExportAnnotation(n, who, answer, 1, AT, None) for n, (who, answer) in enumerate(answers)
    )
    return ExportRecord(7, 8, item, annotations)


def test_response_text() -> None:
    assert response_text("plain") == "plain"
    assert response_text({"text": "t", "content": "c"}) == "t"
    assert response_text({"content": "c", "model": "m"}) == "c"
    assert response_text({"model": "m"}) == '{"model":"m"}'
    assert response_text(42) == "42"


def test_ranking_pairs_are_all_k_choose_2() -> None:
    assert list(ranking_pairs([2, 0, 1])) == [(2, 0), (2, 1), (0, 1)]
    assert len(list(ranking_pairs(list(range(6))))) == 15


def test_preferences_give_the_winner_as_chosen_and_skip_ties() -> None:
    item = {"prompt": "Q?", "pair": ["first", {"text": "second"}]}
    rows = _export(
        _record(
            item,
            ("ana", {"pref": {"winner": "b", "strength": 3}}),
            ("ben", {"pref": {"winner": "tie"}}),
            ("cy", {"pref": {"winner": "a", "strength": 1}}),
        )
    )
    assert rows == [
        {
            "prompt": "Q?",
            "chosen": "second",
            "rejected": "first",
            "task_id": 7,
            "annotator": "ana",
            "strength": 3,
        },
        {
            "prompt": "Q?",
            "chosen": "first",
            "rejected": "second",
            "task_id": 7,
            "annotator": "cy",
            "strength": 1,
        },
    ]


def test_a_ranking_gives_every_pair() -> None:
    item = {"question": "Best?", "candidates": ["r0", "r1", "r2", "r3"]}
    rows = _export(_record(item, ("ana", {"rank": [3, 1, 0, 2]})))
    assert [(r["chosen"], r["rejected"]) for r in rows] == [
        ("r3", "r1"),
        ("r3", "r0"),
        ("r3", "r2"),
        ("r1", "r0"),
        ("r1", "r2"),
        ("r0", "r2"),
    ]
    assert {r["prompt"] for r in rows} == {"Best?"} and {r["strength"] for r in rows} == {None}


def test_a_chat_prompt_gives_conversational_completions() -> None:
    chat = [{"role": "user", "content": "Q?"}]
    (row,) = _export(
        _record({"prompt": chat, "pair": ["x", "y"]}, ("ana", {"pref": {"winner": "a", "strength": 2}}))
    )
    assert row["prompt"] == chat
    assert row["chosen"] == [{"role": "assistant", "content": "x"}]
    assert row["rejected"] == [{"role": "assistant", "content": "y"}]


def test_items_without_prompt_or_responses_give_nothing() -> None:
    assert _export(_record({"pair": ["x", "y"]}, ("ana", {"pref": {"winner": "a", "strength": 1}}))) == []
    assert _export(_record({"prompt": "Q?"}, ("ana", {"pref": {"winner": "a", "strength": 1}}))) == []
