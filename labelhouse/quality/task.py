"""The consensus of a whole task, as stored on it: every control's answer, and one posterior
confidence for the task (its weakest control) that review routing and adaptive overlap read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labelhouse.quality.policy import QualityPolicy, choice_posterior


def _single_choice(config: Any) -> bool:
    return getattr(config, "type", None) == "choices" and not getattr(config, "multiple", False)


def task_consensus(
    controls: Sequence[Any], answers: Sequence[tuple[str, dict[str, Any]]], policy: QualityPolicy
) -> tuple[dict[str, dict[str, Any]], float | None]:
    """``{control: {value, confidence, n[, posterior]}}`` over ``(annotator, answer)`` pairs,
    and the task's confidence.

    ``confidence`` is the control's agreement rule (quality.consensus, as in exports). For
    single-choice controls ``posterior`` is the one-coin posterior of the winning option with the
    policy's assumed accuracy: unlike agreement it grows with the number of labels, which is
    what adaptive overlap needs. The task's confidence is the smallest, over its controls, of
    the posterior where there is one and the agreement otherwise (None: no control answered).
    """
    out: dict[str, dict[str, Any]] = {}
    weakest: float | None = None
    for config in controls:
        given = [(who, answer[config.name]) for who, answer in answers if answer.get(config.name) is not None]
        if not given:
            continue
        if len(given) == 1:
            entry: dict[str, Any] = {"value": given[0][1], "confidence": 1.0, "n": 1}
        else:
            from labelhouse.quality.consensus import consensus  # numpy: loaded on first need

            found = consensus(config, given)
            entry = {"value": found.value, "confidence": round(found.confidence, 4), "n": found.n}
        score = float(entry["confidence"])
        if _single_choice(config):
            _value, posterior = choice_posterior(
                [str(v) for _w, v in given], list(config.options), policy.assumed_accuracy
            )
            entry["posterior"] = round(posterior, 4)
            score = posterior
        out[config.name] = entry
        weakest = score if weakest is None else min(weakest, score)
    return out, weakest


# A gold answer counts as right when, on every control the gold answer fills, the annotator's
# answer is at least this similar to it (choices: equal; spans and boxes: overlap-based).
GOLD_MATCH = 0.5


def gold_correct(controls: Sequence[Any], answer: dict[str, Any], gold: dict[str, Any] | None) -> bool | None:
    """Whether an answer to a gold task is right (None: the gold answer fills no control)."""
    from labelhouse.controls import get_control

    checked = False
    for config in controls:
        expected = (gold or {}).get(config.name)
        if expected is None:
            continue
        checked = True
        given = answer.get(config.name)
        if given is None:
            return False
        if given == expected:
            continue
        if get_control(config.type).similarity(config, given, expected) < GOLD_MATCH:
            return False
    return True if checked else None
