"""DPO export: preference pairs for preference tuning (see ``examples/export.dpo.jsonl``).

One line per pair::

    {"prompt": ..., "chosen": ..., "rejected": ..., "task_id": 1, "annotator": "ana",
     "strength": 2}

- ``preference`` controls: the winner's response is ``chosen``, the other ``rejected``, with the
  answer's ``strength``. Ties give no line.
- ``ranking`` controls: every pair of a ranking gives a line, the better one ``chosen``, so a
  ranking of k responses gives k(k-1)/2 lines (all with ``strength`` null). Weigh them
  accordingly: one ranked task counts as several pairs.

``prompt`` is ``item[config.prompt]`` as it is. A response that is an object gives its ``text``
(else ``content``) key; other responses are used as text (a string as is, anything else as JSON).
When the prompt is a chat transcript (a list of messages), ``chosen`` and ``rejected`` are each one
assistant message ``[{"role": "assistant", "content": ...}]``, the conversational form preference
trainers (e.g. TRL) expect. Tasks whose item lacks the prompt or the responses give no lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import orjson

from labelhouse.controls.preference import PreferenceConfig
from labelhouse.controls.ranking import RankingConfig
from labelhouse.controls.schema import Schema
from labelhouse.formats.base import ExportAnnotation, ExportRecord
from labelhouse.formats.jsonl import chunked, dumps_line
from labelhouse.formats.registry import register_writer


def response_text(response: Any) -> str:
    if isinstance(response, str):
        return response
    if isinstance(response, Mapping):
        for key in ("text", "content"):
            if isinstance(response.get(key), str):
                return str(response[key])
    if isinstance(response, Mapping | list):
        return orjson.dumps(response).decode()
    return str(response)


def ranking_pairs(order: list[int]) -> Iterator[tuple[int, int]]:
    """``(better, worse)`` for every pair of a best-first ranking: k(k-1)/2 of them."""
    for position, better in enumerate(order):
        for worse in order[position + 1 :]:
            yield better, worse


class DpoWriter:
    name: ClassVar[str] = "dpo"
    media_type: ClassVar[str] = "application/x-ndjson"
    extension: ClassVar[str] = ".jsonl"

    def write(self, records: Iterable[ExportRecord], schema: Schema) -> Iterator[bytes]:
        configs = [c for c in schema.controls if isinstance(c, PreferenceConfig | RankingConfig)]
        return chunked(line for r in records for c in configs for line in _lines(r, c))


def _lines(record: ExportRecord, config: PreferenceConfig | RankingConfig) -> Iterator[bytes]:
    prompt = record.item.get(config.prompt)
    responses = record.item.get(config.over)
    if prompt is None or not isinstance(responses, list):
        return
    for annotation in record.annotations:
        for better, worse, strength in _pairs(annotation, config):
            if not (0 <= better < len(responses) and 0 <= worse < len(responses)):
                continue  # an answer that no longer fits its item
            yield dumps_line(
                {
                    "prompt": prompt,
                    "chosen": _completion(prompt, responses[better]),
                    "rejected": _completion(prompt, responses[worse]),
                    "task_id": record.task_id,
                    "annotator": annotation.annotator,
                    "strength": strength,
                }
            )


def _pairs(
    annotation: ExportAnnotation, config: PreferenceConfig | RankingConfig
) -> Iterator[tuple[int, int, int | None]]:
    answer = annotation.answer.get(config.name)
    if isinstance(config, RankingConfig) and isinstance(answer, list):
        for better, worse in ranking_pairs(answer):
            yield better, worse, None
    elif isinstance(config, PreferenceConfig) and isinstance(answer, Mapping):
        winner = answer.get("winner")
        if winner in ("a", "b"):
            better = 0 if winner == "a" else 1
            yield better, 1 - better, answer.get("strength")


def _completion(prompt: Any, response: Any) -> Any:
    text = response_text(response)
    return [{"role": "assistant", "content": text}] if isinstance(prompt, list) else text


register_writer(DpoWriter())
