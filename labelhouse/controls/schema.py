"""A project's schema: its list of controls, and answer validation against it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from labelhouse.controls.base import ControlConfig
from labelhouse.controls.registry import get_control
from labelhouse.core.errors import Invalid


@dataclass(frozen=True)
class Schema:
    controls: tuple[ControlConfig, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"controls": [c.model_dump(exclude_defaults=False) for c in self.controls]}

    def by_type(self, *types: str) -> list[ControlConfig]:
        return [c for c in self.controls if c.type in types]

    def validate_answer(self, answer: Any, item: Mapping[str, Any]) -> dict[str, Any]:
        """Check an answer ``{control name: value}``; return it normalized."""
        if not isinstance(answer, Mapping):
            raise Invalid("an answer is an object keyed by control name", field="answer")
        names = {c.name for c in self.controls}
        unknown = sorted(set(answer) - names)
        if unknown:
            raise Invalid(
                f"answer has no control named {unknown[0]!r}; the schema has: {', '.join(sorted(names))}",
                field=f"answer.{unknown[0]}",
            )
        out: dict[str, Any] = {}
        for config in self.controls:
            value = answer.get(config.name)
            if value is None:
                if config.required:
                    raise Invalid(f"control {config.name!r} needs an answer", field=config.name)
                continue
            out[config.name] = get_control(config.type).validate(config, value, item)
        return out


def parse_schema(raw: Any) -> Schema:
    """Parse ``{"controls": [...]}`` into typed configs, naming the bad field on error."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("controls"), list):
        raise Invalid('a schema is {"controls": [ ... ]}', field="schema")
    if not raw["controls"]:
        raise Invalid("a schema needs at least one control", field="schema.controls")
    configs: list[ControlConfig] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw["controls"]):
        where = f"schema.controls[{index}]"
        if not isinstance(entry, Mapping) or "type" not in entry:
            raise Invalid("each control needs a 'type'", field=where)
        control = get_control(str(entry["type"]))
        try:
            config = control.config_model.model_validate(dict(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise Invalid(
                f"{first['msg']} (at {loc or where})", field=f"{where}.{loc}" if loc else where
            ) from None
        if config.name in seen:
            raise Invalid(f"two controls are named {config.name!r}", field=f"{where}.name")
        seen.add(config.name)
        configs.append(config)
    return Schema(controls=tuple(configs))
