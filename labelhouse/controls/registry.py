"""The registry of control types; built-in controls register the same way outside ones would."""

from __future__ import annotations

import threading

from labelhouse.controls.base import ControlType
from labelhouse.core.errors import Invalid

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


_loaded = False
_loading = threading.RLock()


def _load_builtins() -> None:
    """Import the built-in modules once; they register themselves as they load.

    Under a lock, and marked loaded only afterwards: the first requests of a fresh server come in
    concurrently, and a thread must never see a half-filled registry.
    """
    global _loaded
    if _loaded:
        return
    with _loading:
        if _loaded:
            return
        from labelhouse.controls import (  # noqa: F401  (importing registers)
            boxes,
            choices,
            preference,
            ranking,
            rating,
            spans,
            text,
        )

        _loaded = True
