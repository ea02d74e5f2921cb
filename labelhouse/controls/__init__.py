"""Controls: the extension point of labeling. One module per kind of answer (pure, no I/O)."""

from labelhouse.controls.base import ControlConfig, ControlType
from labelhouse.controls.registry import get_control, register_control, registered_controls
from labelhouse.controls.schema import Schema, parse_schema

__all__ = [
    "ControlConfig",
    "ControlType",
    "Schema",
    "get_control",
    "parse_schema",
    "register_control",
    "registered_controls",
]
