"""The Wilson score interval of a proportion (gold accuracy): sound for small counts and for 0 or 100%."""

from __future__ import annotations

import math


def wilson(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% (by default) Wilson score interval of ``correct / total``; (0, 1) when total is 0."""
    if total == 0:
        return (0.0, 1.0)
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))
