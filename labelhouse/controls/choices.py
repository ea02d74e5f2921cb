"""The ``choices`` control: pick one option, or several, from a fixed list.

Config::

    {"name": "sentiment", "type": "choices", "options": ["pos", "neg", "neutral"],
     "multiple": false, "min_choices": null, "max_choices": null}

- ``options``: 1 to 500 distinct, non-empty strings (required).
- ``multiple``: when false the answer is one option; when true a list of options.
- ``min_choices`` / ``max_choices``: bounds on how many options a multiple answer holds; only
  allowed with ``multiple: true``. ``null`` means no bound, so ``[]`` ("none apply") is a valid
  multiple answer unless ``min_choices`` is at least 1.

Answer: ``"pos"`` (single) or ``["pos", "neutral"]`` (multiple, distinct options). A multiple
answer is normalized to the order of ``options`` so that equal sets compare equal.

Similarity: 1 or 0 for an exact match (single); Jaccard index of the two sets (multiple), 1 when
both are empty.

Exports: jsonl, csv.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StrictBool, StrictInt, ValidationInfo, field_validator

from labelhouse.controls.base import ControlConfig
from labelhouse.controls.registry import register_control
from labelhouse.core.errors import Invalid

# Error messages list at most this many options, so a 500-option control stays readable.
_LISTED = 10


class ChoicesConfig(ControlConfig):
    type: Literal["choices"]
    options: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1, max_length=500)
    multiple: StrictBool = False
    min_choices: StrictInt | None = Field(default=None, ge=0)
    max_choices: StrictInt | None = Field(default=None, ge=1)

    @field_validator("options")
    @classmethod
    def _distinct(cls, options: list[str]) -> list[str]:
        seen: set[str] = set()
        for option in options:
            if option in seen:
                raise ValueError(f"option {option!r} is listed twice; options must be distinct")
            seen.add(option)
        return options

    @field_validator("min_choices", "max_choices")
    @classmethod
    def _bounds(cls, bound: int | None, info: ValidationInfo) -> int | None:
        # Field validators run in declaration order, so ``info.data`` holds the fields above.
        if bound is None:
            return None
        if not info.data.get("multiple", False):
            raise ValueError(f"{info.field_name} only applies with multiple: true")
        options = info.data.get("options", [])
        if options and bound > len(options):
            raise ValueError(f"{info.field_name}={bound} exceeds the {len(options)} options")
        low = info.data.get("min_choices")
        if info.field_name == "max_choices" and low is not None and bound < low:
            raise ValueError(f"max_choices={bound} is below min_choices={low}")
        return bound


def _listing(options: list[str]) -> str:
    shown = ", ".join(repr(o) for o in options[:_LISTED])
    more = len(options) - _LISTED
    return f"{shown} and {more} more" if more > 0 else shown


class Choices:
    type: ClassVar[str] = "choices"
    config_model: ClassVar[builtins.type[ControlConfig]] = ChoicesConfig
    exports: ClassVar[frozenset[str]] = frozenset({"jsonl", "csv"})

    def validate(self, config: ChoicesConfig, value: Any, item: Mapping[str, Any]) -> Any:
        if not config.multiple:
            return self._one(config, value, config.name)
        return self._many(config, value)

    def _one(self, config: ChoicesConfig, value: Any, field: str) -> str:
        if not isinstance(value, str):
            raise Invalid(
                f"expected one option as a string, got {type(value).__name__}; "
                f"choose one of {_listing(config.options)}",
                field=field,
            )
        if value not in config.options:
            raise Invalid(
                f"{value!r} is not an option; choose one of {_listing(config.options)}",
                field=field,
            )
        return value

    def _many(self, config: ChoicesConfig, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise Invalid(
                f"expected a list of options, got {type(value).__name__}; "
                "send [] or e.g. [" + repr(config.options[0]) + "]",
                field=config.name,
            )
        chosen: set[str] = set()
        for index, entry in enumerate(value):
            where = f"{config.name}[{index}]"
            self._one(config, entry, where)
            if entry in chosen:
                raise Invalid(f"{entry!r} is chosen twice; list each option once", field=where)
            chosen.add(entry)
        low, high = config.min_choices, config.max_choices
        if low is not None and len(chosen) < low:
            raise Invalid(f"{len(chosen)} options chosen; choose at least {low}", field=config.name)
        if high is not None and len(chosen) > high:
            raise Invalid(f"{len(chosen)} options chosen; choose at most {high}", field=config.name)
        return [o for o in config.options if o in chosen]

    def similarity(self, config: ChoicesConfig, a: Any, b: Any) -> float:
        if not config.multiple:
            return 1.0 if a == b else 0.0
        left, right = set(a), set(b)
        union = left | right
        if not union:
            return 1.0
        return len(left & right) / len(union)


register_control(Choices())
