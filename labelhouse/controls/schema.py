"""A project's schema: its list of controls, and answer validation against it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from labelhouse.controls.base import ControlConfig
from labelhouse.controls.registry import get_control
from labelhouse.core.errors import Invalid
from labelhouse.core.text import BadText, clean_label


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


# Keys whose strings are names people pick from: NFC, visible, one script, distinct (I-12).
_LABEL_KEYS = frozenset({"name", "label", "labels", "options"})


def _clean_labels(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``entry`` with every label-like string cleaned by ``core.text.clean_label``.

    A control's own validators then see the normalized strings, so two options that differ only
    by Unicode normalization are caught as duplicates by the same check as exact ones."""

    def clean(value: Any, path: str, is_label: bool) -> Any:
        if isinstance(value, str) and is_label:
            try:
                return clean_label(value)
            except BadText as exc:
                raise Invalid(f"{exc} (at {path})", field=path) from None
        if isinstance(value, list):
            out = [clean(v, f"{path}[{i}]", is_label) for i, v in enumerate(value)]
            strings = [v for v in out if isinstance(v, str)]
            if is_label and len(set(strings)) != len(strings):
                twice = next(v for v in strings if strings.count(v) > 1)
                raise Invalid(f"{twice!r} is listed twice (after Unicode normalization)", field=path)
            return out
        if isinstance(value, Mapping):
            return {k: clean(v, f"{path}.{k}", k in _LABEL_KEYS) for k, v in value.items()}
        return value

    return {k: clean(v, f"{where}.{k}", k in _LABEL_KEYS) for k, v in entry.items()}


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
            config = control.config_model.model_validate(_clean_labels(entry, where))
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
