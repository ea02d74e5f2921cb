"""The ``rating`` control: a score on an integer scale (Likert), or one per rubric criterion.

Config::

    {"name": "quality", "type": "rating", "min": 1, "max": 5,
     "criteria": [{"name": "helpful", "description": "Answers the question"},
                  {"name": "harmless"}]}

- ``min`` < ``max``: the ends of the scale, inclusive.
- ``criteria``: optional rubric; names are distinct and non-empty.

Answer: an integer in ``[min, max]`` when there are no criteria, else an object
``{criterion name: integer}`` that scores every criterion and nothing else. Booleans and
fractional numbers are rejected. Normalized: criteria in config order.

Similarity: ``1 - |a - b| / (max - min)``, averaged over the criteria when there are any.

Exports: jsonl, csv.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationInfo, field_validator

from labelhouse.controls.base import ControlConfig
from labelhouse.controls.registry import register_control
from labelhouse.core.errors import Invalid


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""


class RatingConfig(ControlConfig):
    type: Literal["rating"]
    min: StrictInt = 1
    max: StrictInt = 5
    criteria: list[Criterion] = Field(default_factory=list)

    @field_validator("max")
    @classmethod
    def _ordered(cls, high: int, info: ValidationInfo) -> int:
        low = info.data.get("min")
        if low is not None and high <= low:
            raise ValueError(f"max={high} must be greater than min={low}")
        return high

    @field_validator("criteria")
    @classmethod
    def _distinct(cls, criteria: list[Criterion]) -> list[Criterion]:
        names = [c.name for c in criteria]
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"criterion {twice!r} is listed twice; names must be distinct")
        return criteria


class Rating:
    type: ClassVar[str] = "rating"
    config_model: ClassVar[builtins.type[ControlConfig]] = RatingConfig
    exports: ClassVar[frozenset[str]] = frozenset({"jsonl", "csv"})

    def validate(self, config: RatingConfig, value: Any, item: Mapping[str, Any]) -> Any:
        if not config.criteria:
            return self._score(config, value, config.name)
        names = [c.name for c in config.criteria]
        if not isinstance(value, Mapping):
            raise Invalid(
                f"expected an object scoring each criterion ({', '.join(names)}), got {type(value).__name__}",
                field=config.name,
            )
        extra = sorted(set(value) - set(names))
        if extra:
            raise Invalid(
                f"{extra[0]!r} is not a criterion; the criteria are {', '.join(names)}",
                field=f"{config.name}.{extra[0]}",
            )
        missing = [n for n in names if n not in value]
        if missing:
            raise Invalid(
                f"criterion {missing[0]!r} has no score; score every criterion",
                field=f"{config.name}.{missing[0]}",
            )
        return {n: self._score(config, value[n], f"{config.name}.{n}") for n in names}

    def _score(self, config: RatingConfig, value: Any, field: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not config.min <= value <= config.max:
            raise Invalid(
                f"expected a whole number from {config.min} to {config.max}, got {value!r}",
                field=field,
            )
        return value

    def similarity(self, config: RatingConfig, a: Any, b: Any) -> float:
        span = config.max - config.min
        if not config.criteria:
            return 1.0 - abs(a - b) / span
        scores = [1.0 - abs(a[c.name] - b[c.name]) / span for c in config.criteria]
        return sum(scores) / len(scores)


register_control(Rating())
