"""The Protocol every control implements, and the config fields all controls share."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field


class ControlConfig(BaseModel):
    """Fields every control has; a control's own config model subclasses this."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
    type: str
    over: str | None = Field(default=None, description="the field of the item this control is about")
    required: bool = True
    description: str = ""


class ControlType(Protocol):
    """One kind of labeling.

    ``validate`` returns the normalized answer value or raises ``Invalid`` whose ``field`` is
    ``config.name`` (or ``config.name`` plus a path such as ``label[2].x``).
    ``similarity`` is the agreement of two valid answers, in [0, 1].
    ``exports`` names the export formats that read answers of this control.
    """

    type: ClassVar[str]
    # ``builtins.type``: the ``type`` attribute above shadows the builtin inside this class.
    config_model: ClassVar[builtins.type[ControlConfig]]
    exports: ClassVar[frozenset[str]]

    def validate(self, config: Any, value: Any, item: Mapping[str, Any]) -> Any: ...

    def similarity(self, config: Any, a: Any, b: Any) -> float: ...
