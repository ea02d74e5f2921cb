"""The truth-inference seam: the ``Result`` every method returns, the ``Method`` Protocol, the registry.

Built-in methods register themselves in ``labelhouse.quality.__init__`` with :func:`register`,
exactly as an outside package would::

    from labelhouse.quality import Answers, Result, register

    class Mine:
        name = "mine"
        summary = "my method"
        def infer(self, answers: Answers, *, seed: int = 0) -> Result: ...

    register(Mine())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from labelhouse.core.errors import Invalid, NotFound
from labelhouse.quality.answers import Answers, FloatArray, IntArray

DEFAULT_METHOD = "ds_vb"


@dataclass(frozen=True)
class Result:
    """Per-task posteriors (tasks x classes, rows sum to 1) and per-worker reliability in [0, 1]."""

    posteriors: FloatArray
    reliability: FloatArray
    method: str
    iterations: int = 0

    @property
    def labels(self) -> IntArray:
        """The most probable class of each task (the lowest class code on a tie)."""
        return np.asarray(self.posteriors.argmax(axis=1), dtype=np.int64)

    @property
    def confidence(self) -> FloatArray:
        """The posterior probability of the chosen label."""
        return np.asarray(self.posteriors.max(axis=1), dtype=np.float64)


@runtime_checkable
class Method(Protocol):
    """A truth-inference method: pure, deterministic for a given seed."""

    name: str
    summary: str

    def infer(self, answers: Answers, *, seed: int = 0) -> Result: ...


_REGISTRY: dict[str, Method] = {}


def register(method: Method, *, replace: bool = False) -> Method:
    """Make ``method`` available by its ``name`` (to the CLI, services and jobs)."""
    if not isinstance(method, Method):
        raise Invalid("a truth-inference method needs name, summary and infer()", field="method")
    if method.name in _REGISTRY and not replace:
        raise Invalid(f"a method named {method.name!r} is already registered", field="method")
    _REGISTRY[method.name] = method
    return method


def get_method(name: str) -> Method:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise NotFound(f"no truth-inference method {name!r}; known: {known}", field="method") from None


def method_names() -> list[str]:
    return list(_REGISTRY)


def infer(answers: Answers, method: str = DEFAULT_METHOD, *, seed: int = 0) -> Result:
    """Run the named method (the default unless told)."""
    return get_method(method).infer(answers, seed=seed)
