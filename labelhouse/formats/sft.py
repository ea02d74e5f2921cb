"""SFT export: chat transcripts for supervised fine-tuning (see ``examples/export.sft.jsonl``).

For each ``text`` control and each annotation that answers it, one line::

    {"messages": [...prompt..., {"role": "assistant", "content": <answer>}],
     "task_id": 1, "annotator": "ana"}

The prompt is ``item[config.over]``: a string becomes one user message; a list of
``{"role", "content"}`` messages (a chat transcript, a system message allowed) is used as it is.
When ``item["system"]`` is a string and the prompt has no system message yet, it is put first as
the system message. Text controls without ``over``, tasks whose item lacks the prompt, and blank
answers give no lines (a demonstration without its prompt, or without content, cannot be trained
on).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from labelhouse.controls.schema import Schema
from labelhouse.formats.base import ExportRecord
from labelhouse.formats.jsonl import chunked, dumps_line
from labelhouse.formats.registry import register_writer


def prompt_messages(item: dict[str, Any], field: str) -> list[Any] | None:
    """The chat messages that lead to the answer, or None when the item has no prompt."""
    prompt = item.get(field)
    if isinstance(prompt, str):
        messages: list[Any] = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, list) and prompt:
        messages = list(prompt)
    else:
        return None
    system = item.get("system")
    has_system = any(isinstance(m, dict) and m.get("role") == "system" for m in messages)
    if isinstance(system, str) and not has_system:
        messages.insert(0, {"role": "system", "content": system})
    return messages


class SftWriter:
    name: ClassVar[str] = "sft"
    media_type: ClassVar[str] = "application/x-ndjson"
    extension: ClassVar[str] = ".jsonl"

    def write(self, records: Iterable[ExportRecord], schema: Schema) -> Iterator[bytes]:
        fields = [(c.name, c.over) for c in schema.by_type("text") if c.over]
        return chunked(_lines(records, fields))


def _lines(records: Iterable[ExportRecord], fields: list[tuple[str, str]]) -> Iterator[bytes]:
    for record in records:
        for name, over in fields:
            prompt = prompt_messages(record.item, over)
            if prompt is None:
                continue
            for annotation in record.annotations:
                answer = annotation.answer.get(name)
                if not isinstance(answer, str) or not answer.strip():
                    continue
                yield dumps_line(
                    {
                        "messages": [*prompt, {"role": "assistant", "content": answer}],
                        "task_id": record.task_id,
                        "annotator": annotation.annotator,
                    }
                )


register_writer(SftWriter())
