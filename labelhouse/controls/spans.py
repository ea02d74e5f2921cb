"""The ``spans`` control: named entities (labeled character ranges) over a text field.

Config::

    {"name": "entities", "type": "spans", "over": "text",
     "labels": ["PER", "ORG"], "allow_overlap": true}

- ``over`` (required): the item field holding the text; it must be a string.
- ``labels``: distinct, non-empty label names (at least one).
- ``allow_overlap``: when false, no two spans may share a character.

Answer: a list of ``{"start": int, "end": int, "label": str, "text": str (optional)}`` with
``0 <= start < end <= len(text)``. Offsets count Unicode code points (Python string indices), not
UTF-16 units: a browser widget must convert before sending. ``text``, when sent, must equal
``text[start:end]``; it lets a client catch an offset bug. The same (start, end, label) twice is
rejected. Normalized: sorted by (start, end, label), each span carrying its ``text``.

Similarity: F1 of exactly matching (start, end, label) triples; 1 when both answers are empty.

Exports: jsonl, csv.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StrictBool, field_validator

from labelhouse.controls.base import ControlConfig
from labelhouse.controls.registry import register_control
from labelhouse.core.errors import Invalid

_KEYS = frozenset({"start", "end", "label", "text"})


class SpansConfig(ControlConfig):
    type: Literal["spans"]
    over: str
    labels: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    allow_overlap: StrictBool = True

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels):
            twice = next(x for x in labels if labels.count(x) > 1)
            raise ValueError(f"label {twice!r} is listed twice; labels must be distinct")
        return labels


def _offset(span: Mapping[str, Any], key: str, where: str) -> int:
    value = span.get(key)
    # bool is an int subclass; True as an offset is always a client bug.
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(
            f"{key} must be a whole number (a character offset), got {value!r}",
            field=f"{where}.{key}",
        )
    return value


class Spans:
    type: ClassVar[str] = "spans"
    config_model: ClassVar[builtins.type[ControlConfig]] = SpansConfig
    exports: ClassVar[frozenset[str]] = frozenset({"jsonl", "csv"})

    def validate(self, config: SpansConfig, value: Any, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        text = item.get(config.over)
        if not isinstance(text, str):
            raise Invalid(
                f"spans need text, but the item's field {config.over!r} is "
                f"{type(text).__name__ if config.over in item else 'missing'}; "
                "point 'over' at a text field",
                field=f"item.{config.over}",
            )
        if not isinstance(value, list):
            raise Invalid(
                f"expected a list of spans, got {type(value).__name__}; "
                'send e.g. [{"start": 0, "end": 5, "label": "' + config.labels[0] + '"}]',
                field=config.name,
            )
        spans: list[tuple[int, int, str, int]] = []  # (start, end, label, index sent)
        for index, span in enumerate(value):
            spans.append(self._span(config, text, span, f"{config.name}[{index}]") + (index,))
        spans.sort()
        for (s1, e1, l1, i1), (s2, e2, l2, i2) in zip(spans, spans[1:], strict=False):
            if (s1, e1, l1) == (s2, e2, l2):
                raise Invalid(
                    f"span {i2} repeats span {i1} ({s2}-{e2} {l2}); remove one",
                    field=f"{config.name}[{i2}]",
                )
        if not config.allow_overlap:
            self._no_overlap(config, spans)
        return [
            {"start": start, "end": end, "label": label, "text": text[start:end]}
            for start, end, label, _ in spans
        ]

    def _span(self, config: SpansConfig, text: str, span: Any, where: str) -> tuple[int, int, str]:
        if not isinstance(span, Mapping):
            raise Invalid(
                'each span is an object {"start", "end", "label"}, got ' + type(span).__name__,
                field=where,
            )
        extra = sorted(set(span) - _KEYS)
        if extra:
            raise Invalid(
                f"unknown key {extra[0]!r}; a span has start, end, label and optional text",
                field=f"{where}.{extra[0]}",
            )
        start = _offset(span, "start", where)
        end = _offset(span, "end", where)
        if start < 0:
            raise Invalid(f"start is {start}; offsets start at 0", field=f"{where}.start")
        if end <= start:
            raise Invalid(
                f"end ({end}) must be greater than start ({start}); a span covers at least one character",
                field=f"{where}.end",
            )
        if end > len(text):
            raise Invalid(
                f"end ({end}) is past the end of the text ({len(text)} characters)",
                field=f"{where}.end",
            )
        label = span.get("label")
        if label not in config.labels:
            raise Invalid(
                f"label {label!r} is not one of {', '.join(map(repr, config.labels))}",
                field=f"{where}.label",
            )
        if "text" in span and span["text"] != text[start:end]:
            raise Invalid(
                f"text {span['text']!r} does not match the item's text at {start}-{end} "
                f"({text[start:end]!r}); offsets count Unicode code points",
                field=f"{where}.text",
            )
        return start, end, label

    def _no_overlap(self, config: SpansConfig, spans: list[tuple[int, int, str, int]]) -> None:
        # Sorted by start, so it is enough to compare each span with the furthest-reaching one
        # before it.
        reach_end, reach_index = -1, -1
        for start, end, _, index in spans:
            if start < reach_end:
                # Blame the span sent later: it is the one the annotator just added.
                first, later = sorted((reach_index, index))
                raise Invalid(
                    f"spans {first} and {later} overlap; this control does not allow overlapping "
                    "spans, so shorten or remove one",
                    field=f"{config.name}[{later}]",
                )
            if end > reach_end:
                reach_end, reach_index = end, index

    def similarity(self, config: SpansConfig, a: Any, b: Any) -> float:
        left = {(s["start"], s["end"], s["label"]) for s in a}
        right = {(s["start"], s["end"], s["label"]) for s in b}
        if not left and not right:
            return 1.0
        return 2 * len(left & right) / (len(left) + len(right))


register_control(Spans())
