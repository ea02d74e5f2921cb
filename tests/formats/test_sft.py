"""SFT export: prompt messages plus the written reply, one line per text answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from labelhouse.controls import parse_schema
from labelhouse.formats import ExportAnnotation, ExportRecord, get_writer
from labelhouse.formats.sft import prompt_messages

AT = datetime(2024, 1, 1, tzinfo=UTC)
USER = {"role": "user", "content": "Hi?"}


def _export(records: list[ExportRecord], controls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = b"".join(get_writer("sft").write(records, parse_schema({"controls": controls})))
    return [orjson.loads(line) for line in out.splitlines()]


def test_prompt_messages() -> None:
    assert prompt_messages({"p": "Hi?"}, "p") == [USER]
    assert prompt_messages({"p": "Hi?", "system": "Be kind."}, "p") == [
        {"role": "system", "content": "Be kind."},
        USER,
    ]
    own = [{"role": "system", "content": "Own."}, USER]
    assert prompt_messages({"p": own, "system": "Other."}, "p") == own  # not two system messages
    assert prompt_messages({"p": [USER], "system": "S."}, "p") == [{"role": "system", "content": "S."}, USER]
    assert prompt_messages({"p": [USER], "system": 3}, "p") == [USER]
    assert prompt_messages({}, "p") is None
    assert prompt_messages({"p": []}, "p") is None


def test_one_line_per_answer_per_text_control() -> None:
    controls: list[dict[str, Any]] = [
        {"name": "reply", "type": "text", "over": "prompt"},
        {"name": "rewrite", "type": "text", "over": "draft", "required": False},
        {"name": "comment", "type": "text", "required": False},  # no over: not a demonstration
    ]
    record = ExportRecord(
        1,
        2,
        {"prompt": "Hi?", "draft": "Rewrite me"},
        (
            ExportAnnotation(
                1, "ana", {"reply": "Hello!", "rewrite": "Rewritten.", "comment": "x"}, 1, AT, None
            ),
            ExportAnnotation(2, "ben", {"reply": "Hey."}, 1, AT, None),
        ),
    )
    missing_prompt = ExportRecord(
        2, 3, {"other": 1}, (ExportAnnotation(3, "cy", {"reply": "?"}, 1, AT, None),)
    )
    assert _export([record, missing_prompt], controls) == [
        {"messages": [USER, {"role": "assistant", "content": "Hello!"}], "task_id": 1, "annotator": "ana"},
        {"messages": [USER, {"role": "assistant", "content": "Hey."}], "task_id": 1, "annotator": "ben"},
        {
            "messages": [
                {"role": "user", "content": "Rewrite me"},
                {"role": "assistant", "content": "Rewritten."},
            ],
            "task_id": 1,
            "annotator": "ana",
        },
    ]
