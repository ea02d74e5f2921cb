"""The ``preference`` control: which of two responses is better (A vs B), how much, and why.

Config::

    {"name": "pref", "type": "preference", "over": "responses", "prompt": "prompt",
     "strength_scale": 3, "allow_tie": true, "require_reason": false}

- ``over`` (required): the item field holding exactly two responses (A first, B second).
- ``prompt``: the item field holding the prompt; exports (DPO) read it, validation does not.
- ``strength_scale`` (1..10): how finely the strength of a preference is graded.
- ``allow_tie``: whether ``"tie"`` is a valid winner.
- ``require_reason``: whether a written rationale is required.

Answer: ``{"winner": "a" | "b" | "tie", "strength": 1..strength_scale, "reason": str}``.
``strength`` is optional (absent or null means 1) and ignored for a tie; ``reason`` is optional unless
``require_reason`` (then it must not be blank), at most 10,000 characters. Normalized: a win
always carries ``strength``, a tie never does; ``reason`` is kept as sent when present.

Similarity: 1 for the same winner, 0.5 when exactly one answer is a tie, else 0. Strength does
not count.

Exports: jsonl, csv, dpo.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, StrictBool, StrictInt

from labelhouse.controls.base import ControlConfig
from labelhouse.controls.registry import register_control
from labelhouse.core.errors import Invalid

_KEYS = frozenset({"winner", "strength", "reason"})
_MAX_REASON = 10000


class PreferenceConfig(ControlConfig):
    type: Literal["preference"]
    over: str
    strength_scale: StrictInt = Field(default=3, ge=1, le=10)
    allow_tie: StrictBool = True
    require_reason: StrictBool = False
    prompt: str = "prompt"


def _check_pair(config: PreferenceConfig, item: Mapping[str, Any]) -> None:
    pair = item.get(config.over)
    if isinstance(pair, list) and len(pair) == 2:
        return
    if isinstance(pair, list):
        got = f"a list of {len(pair)}"
    else:
        got = type(pair).__name__ if config.over in item else "missing"
    raise Invalid(
        f"preference needs exactly 2 responses in the item's field {config.over!r}, but it is {got}; "
        "fix the item data, or use a ranking control for more than two",
        field=f"item.{config.over}",
    )


class Preference:
    type: ClassVar[str] = "preference"
    config_model: ClassVar[builtins.type[ControlConfig]] = PreferenceConfig
    exports: ClassVar[frozenset[str]] = frozenset({"jsonl", "csv", "dpo"})

    def validate(self, config: PreferenceConfig, value: Any, item: Mapping[str, Any]) -> dict[str, Any]:
        _check_pair(config, item)
        if not isinstance(value, Mapping):
            raise Invalid(
                'expected an object like {"winner": "a", "strength": 1}, got ' + type(value).__name__,
                field=config.name,
            )
        extra = sorted(set(value) - _KEYS)
        if extra:
            raise Invalid(
                f"unknown key {extra[0]!r}; use winner, strength and reason",
                field=f"{config.name}.{extra[0]}",
            )
        winner = value.get("winner")
        if winner == "tie" and not config.allow_tie:
            raise Invalid("this control does not allow ties; pick 'a' or 'b'", field=f"{config.name}.winner")
        if winner not in ("a", "b", "tie"):
            raise Invalid(
                f"winner is {winner!r}; it must be 'a' or 'b' (or 'tie')", field=f"{config.name}.winner"
            )
        out: dict[str, Any] = {"winner": winner}
        if winner != "tie":
            strength = value.get("strength")
            out["strength"] = 1 if strength is None else self._strength(config, strength)
        reason = self._reason(config, value.get("reason"))
        if reason is not None:
            out["reason"] = reason
        return out

    def _reason(self, config: PreferenceConfig, reason: Any) -> str | None:
        where = f"{config.name}.reason"
        if reason is not None and not isinstance(reason, str):
            raise Invalid(f"reason must be text, got {type(reason).__name__}", field=where)
        if config.require_reason and not (reason or "").strip():
            raise Invalid(
                "this control asks for a reason; explain the choice in a sentence or two", field=where
            )
        if reason is not None and len(reason) > _MAX_REASON:
            raise Invalid(
                f"the reason is {len(reason)} characters; shorten it to at most {_MAX_REASON}", field=where
            )
        return reason

    def _strength(self, config: PreferenceConfig, strength: Any) -> int:
        if (
            not isinstance(strength, int)
            or isinstance(strength, bool)
            or not 1 <= strength <= config.strength_scale
        ):
            raise Invalid(
                f"strength is {strength!r}; it must be a whole number from 1 to {config.strength_scale}",
                field=f"{config.name}.strength",
            )
        return strength

    def similarity(self, config: PreferenceConfig, a: Any, b: Any) -> float:
        if a["winner"] == b["winner"]:
            return 1.0
        return 0.5 if "tie" in (a["winner"], b["winner"]) else 0.0


register_control(Preference())
