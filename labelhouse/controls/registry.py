"""The registry of control types; built-in controls register the same way outside ones would."""

from __future__ import annotations

from labelhouse.controls.base import ControlType
from labelhouse.core.errors import Invalid
from labelhouse.core.load_once import LoadOnce

_CONTROLS: dict[str, ControlType] = {}


def register_control(control: ControlType) -> ControlType:
    _CONTROLS[control.type] = control
    return control


def get_control(type_name: str) -> ControlType:
    _load_builtins()
    try:
        return _CONTROLS[type_name]
    except KeyError:
        known = ", ".join(sorted(_CONTROLS))
        raise Invalid(f"unknown control type {type_name!r}; known types: {known}", field="type") from None


def registered_controls() -> dict[str, ControlType]:
    _load_builtins()
    return dict(_CONTROLS)


def _import_builtins() -> None:
    from labelhouse.controls import (  # noqa: F401  (importing registers)
        boxes,
        choices,
        preference,
        ranking,
        rating,
        spans,
        text,
    )


_load_builtins = LoadOnce(_import_builtins)
