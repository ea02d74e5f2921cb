"""The ``ranking`` control: order k responses to a prompt, best first.

Config::

    {"name": "rank", "type": "ranking", "over": "responses", "prompt": "prompt"}

- ``over`` (required): the item field holding the responses, a list of k >= 2 strings or
  objects.
- ``prompt``: the item field holding the prompt; exports (DPO) read it, validation does not.

Answer: a list of indices into the responses, best first, holding each of ``0 .. k-1`` exactly
once; e.g. ``[2, 0, 1]`` says response 2 is best and response 1 worst. No ties.

Similarity: ``(tau + 1) / 2`` where tau is Kendall's rank correlation of the two orders, so
identical orders score 1 and reversed orders 0. Both answers must rank the same responses.

Exports: jsonl, csv, dpo.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from labelhouse.controls.base import ControlConfig
from labelhouse.controls.registry import register_control
from labelhouse.core.errors import Invalid


class RankingConfig(ControlConfig):
    type: Literal["ranking"]
    over: str
    prompt: str = "prompt"


def responses(config: RankingConfig, item: Mapping[str, Any]) -> list[Any]:
    """The responses the answer ranks; ``Invalid`` on ``item.<over>`` when the item is unfit."""
    where = f"item.{config.over}"
    found = item.get(config.over)
    if not isinstance(found, list) or len(found) < 2:
        got = "missing" if config.over not in item else f"{type(found).__name__}"
        if isinstance(found, list):
            got = f"a list of {len(found)}"
        raise Invalid(
            f"ranking needs a list of at least 2 responses in the item's field {config.over!r}, "
            f"but it is {got}; fix the item data or point 'over' at the responses",
            field=where,
        )
    for index, response in enumerate(found):
        if not isinstance(response, str | Mapping):
            raise Invalid(
                f"response {index} is {type(response).__name__}; responses are strings or objects",
                field=f"{where}[{index}]",
            )
    return found


class Ranking:
    type: ClassVar[str] = "ranking"
    config_model: ClassVar[builtins.type[ControlConfig]] = RankingConfig
    exports: ClassVar[frozenset[str]] = frozenset({"jsonl", "csv", "dpo"})

    def validate(self, config: RankingConfig, value: Any, item: Mapping[str, Any]) -> list[int]:
        k = len(responses(config, item))
        hint = f"list each of 0..{k - 1} once, best first"
        if not isinstance(value, list):
            raise Invalid(
                f"expected a list of response indices, got {type(value).__name__}; {hint}", field=config.name
            )
        seen: dict[int, int] = {}
        for position, index in enumerate(value):
            where = f"{config.name}[{position}]"
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < k:
                raise Invalid(f"{index!r} is not a response index (there are {k}); {hint}", field=where)
            if index in seen:
                raise Invalid(
                    f"response {index} is ranked twice (positions {seen[index]} and {position}); {hint}",
                    field=where,
                )
            seen[index] = position
        missing = [i for i in range(k) if i not in seen]
        if missing:
            raise Invalid(f"response {missing[0]} is not ranked; {hint}", field=config.name)
        return list(value)

    def similarity(self, config: RankingConfig, a: Any, b: Any) -> float:
        if sorted(a) != sorted(b):
            raise ValueError("the two rankings order different responses; compare answers to one item")
        # Kendall's tau of two orders of the same responses (no ties): concordant minus discordant
        # pairs over all pairs, counted directly; scipy's kendalltau gives the same number at
        # ~1 ms a call, which the quality report pays a few times per answer.
        position_b = {index: position for position, index in enumerate(b)}
        order = [position_b[index] for index in a]
        n = len(order)
        pairs = n * (n - 1) // 2
        if pairs == 0:
            return 1.0
        concordant = sum(1 for i in range(n) for j in range(i + 1, n) if order[i] < order[j])
        tau = (2 * concordant - pairs) / pairs
        return min(1.0, max(0.0, (tau + 1.0) / 2.0))


register_control(Ranking())
