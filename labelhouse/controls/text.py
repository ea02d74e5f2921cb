"""The ``text`` control: free writing, such as an SFT demonstration or a rewrite.

Config::

    {"name": "response", "type": "text", "min_length": 1, "max_length": 100000,
     "placeholder": "Write the ideal answer"}

- ``min_length`` / ``max_length``: bounds on the length in characters (Unicode code points),
  ``0 <= min_length <= max_length``. Trailing whitespace does not count, so a reply of spaces
  does not pass ``min_length: 1``.
- ``placeholder``: hint text for the widget; not part of the answer.

Answer: a string, stored as sent (trailing whitespace is only ignored when measuring).

Similarity: ``difflib.SequenceMatcher`` ratio of the first 5,000 characters of each answer (the
cap keeps the matcher fast); 1 when the texts are equal.

Exports: jsonl, csv, sft.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from difflib import SequenceMatcher
from typing import Any, ClassVar, Literal

from pydantic import Field, StrictInt, ValidationInfo, field_validator

from labelhouse.controls.base import ControlConfig
from labelhouse.controls.registry import register_control
from labelhouse.core.errors import Invalid

_COMPARED_CHARS = 5000


class TextConfig(ControlConfig):
    type: Literal["text"]
    min_length: StrictInt = Field(default=1, ge=0)
    max_length: StrictInt = Field(default=100000, ge=1)
    placeholder: str = ""

    @field_validator("max_length")
    @classmethod
    def _ordered(cls, high: int, info: ValidationInfo) -> int:
        low = info.data.get("min_length")
        if low is not None and high < low:
            raise ValueError(f"max_length={high} is below min_length={low}")
        return high


class Text:
    type: ClassVar[str] = "text"
    config_model: ClassVar[builtins.type[ControlConfig]] = TextConfig
    exports: ClassVar[frozenset[str]] = frozenset({"jsonl", "csv", "sft"})

    def validate(self, config: TextConfig, value: Any, item: Mapping[str, Any]) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected text (a string), got {type(value).__name__}", field=config.name)
        length = len(value.rstrip())
        if length < config.min_length:
            raise Invalid(
                f"the text is {length} characters long (not counting trailing whitespace); "
                f"write at least {config.min_length}",
                field=config.name,
            )
        if length > config.max_length:
            raise Invalid(
                f"the text is {length} characters long; shorten it to at most {config.max_length}",
                field=config.name,
            )
        return value

    def similarity(self, config: TextConfig, a: Any, b: Any) -> float:
        if a == b:
            return 1.0
        # autojunk stays on: without it the matcher is cubic on repetitive text (minutes for
        # 5,000 characters). With it prose still compares well; only text made of a few
        # characters repeated scores low, as its characters all count as junk.
        return SequenceMatcher(None, a[:_COMPARED_CHARS], b[:_COMPARED_CHARS]).ratio()


register_control(Text())
