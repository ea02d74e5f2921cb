"""The consensus of a whole task, as stored on it: every control's answer, and one posterior
confidence for the task (its weakest control) that review routing and adaptive overlap read."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labelhouse.quality.policy import (
    QualityPolicy,
    answer_credit,
    choice_distribution,
    effective_counts,
    leader_holds,
    plurality_choice,
    vote_weight,
)


def answer_fits(config: Any) -> Callable[[Any], bool]:
    """Whether a stored value (None: unanswered) has the shape the control's current config
    takes. Answers are kept as made when the schema changes (docs/security.md, D-06): consensus,
    gold scores and the report read only those of the control's current type (and rubric), so a
    control that changed type is not fed the old answers."""
    kind = getattr(config, "type", None)
    if kind == "choices":
        if getattr(config, "multiple", False):
            return lambda v: isinstance(v, list) and all(isinstance(o, str) for o in v)
        return lambda v: isinstance(v, str)
    if kind == "rating":
        if getattr(config, "criteria", None):
            names = {c.name for c in config.criteria}
            return lambda v: isinstance(v, dict) and v.keys() == names
        return _whole
    # spans, boxes, rankings and multiple choices are all lists: their items tell them apart
    if kind == "spans":
        return lambda v: isinstance(v, list) and all(isinstance(s, dict) and _SPAN <= s.keys() for s in v)
    if kind == "boxes":
        return lambda v: isinstance(v, list) and all(isinstance(b, dict) and _OBJECT <= b.keys() for b in v)
    if kind == "ranking":
        return lambda v: isinstance(v, list) and all(_whole(r) for r in v)
    if kind == "preference":
        return lambda v: isinstance(v, dict) and "winner" in v
    if kind == "text":
        return lambda v: isinstance(v, str)
    return lambda v: v is not None  # a control registered from outside: any answer


# The keys every stored span and every stored object has (controls.spans, controls.boxes: boxes
# are stored with their ``type``, spans never have one).
_SPAN = frozenset({"start", "end", "label"})
_OBJECT = frozenset({"type", "label"})


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _given(config: Any, answers: Sequence[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    """``(annotator, value)`` of the answers that fill ``config`` in a shape it takes now (D-06):
    what the consensus, the stop rule and the credit of a task all read."""
    fits = answer_fits(config)
    return [(who, answer[config.name]) for who, answer in answers if fits(answer.get(config.name))]


def _single_choice(config: Any) -> bool:
    return getattr(config, "type", None) == "choices" and not getattr(config, "multiple", False)


def task_consensus(
    controls: Sequence[Any],
    answers: Sequence[tuple[str, dict[str, Any]]],
    policy: QualityPolicy,
    accuracy: Mapping[str, float] | None = None,
) -> tuple[dict[str, dict[str, Any]], float | None]:
    """``{control: {value, confidence, n[, posterior]}}`` over ``(annotator, answer)`` pairs,
    and the task's confidence.

    ``confidence`` is the control's agreement rule (quality.consensus, as in exports). For
    single-choice controls ``posterior`` is the one-coin posterior of the winning option with the
    policy's assumed accuracy: unlike agreement it grows with the number of labels, which is
    what adaptive overlap needs. The task's confidence is the smallest, over its controls, of
    the posterior where there is one and the agreement otherwise (None: no control answered).

    ``accuracy`` maps annotators to their estimated accuracy (``policy.annotator_accuracy``;
    absent: the assumed accuracy). With it, single-choice answers are weighted by their log-odds
    of being right, and the stored value is the posterior's winner among the options the most
    annotators chose (``policy.plurality_choice``), ``confidence`` its weighted share.
    """
    out: dict[str, dict[str, Any]] = {}
    weakest: float | None = None
    for config in controls:
        given = _given(config, answers)
        if not given:
            continue
        single = _single_choice(config)
        support: Mapping[str, float] = {}
        if len(given) == 1:
            entry: dict[str, Any] = {"value": given[0][1], "confidence": 1.0, "n": 1}
        else:
            from labelhouse.quality.consensus import consensus  # numpy: loaded on first need

            weights = None
            if single and accuracy:
                k = len(config.options)
                # + 1e-6: annotators at a coin flip still break ties between equals
                weights = {
                    who: vote_weight(accuracy.get(who, policy.assumed_accuracy), k) + 1e-6 for who, _ in given
                }
            found = consensus(config, given, weights)
            entry = {"value": found.value, "confidence": round(found.confidence, 4), "n": found.n}
            support = found.details.get("support", {})
        if single:
            labels = [str(v) for _w, v in given]
            dist = choice_distribution(
                labels,
                list(config.options),
                [(accuracy or {}).get(who, policy.assumed_accuracy) for who, _v in given],
            )
            value = plurality_choice(labels, dist)
            if value != str(entry["value"]):  # the weighted winner is an option fewer annotators chose
                entry["value"], entry["confidence"] = value, round(float(support.get(value, 0.0)), 4)
            entry["posterior"] = round(dist[value], 4)
        score = dist[value] if single else float(entry["confidence"])
        out[config.name] = entry
        weakest = score if weakest is None else min(weakest, score)
    return out, weakest


def task_settled(
    controls: Sequence[Any],
    answers: Sequence[tuple[str, dict[str, Any]]],
    policy: QualityPolicy,
    accuracy: Mapping[str, float] | None = None,
) -> float | None:
    """How settled a task's answer is for adaptive overlap's "predictive" stop rule: over its
    single-choice controls, the smallest probability that the leading option still leads once
    the task has max_labels answers (``policy.leader_holds`` on the votes so far, each counted
    by its annotator's weight, ``policy.effective_counts``). None: no single-choice control
    answered, or no label left."""
    remaining = policy.max_labels - len(answers)
    if remaining <= 0:
        return None
    weakest: float | None = None
    for config in controls:
        if not _single_choice(config):
            continue
        given = _given(config, answers)
        if not given:
            continue
        counts = effective_counts(
            [v for _w, v in given],
            list(config.options),
            [(accuracy or {}).get(who, policy.assumed_accuracy) for who, _v in given],
            policy.assumed_accuracy,
        )
        held = leader_holds(counts, remaining)
        weakest = held if weakest is None else min(weakest, held)
    return weakest


def task_credit(
    controls: Sequence[Any], answers: Sequence[tuple[str, dict[str, Any]]], accuracy: Mapping[str, float]
) -> dict[str, tuple[float, int]]:
    """What a finished task adds to each of its annotators' records: ``(expected right answers,
    answers counted)`` over its single-choice controls that two or more annotators answered
    (one answer alone says nothing about whether it was right). ``accuracy`` must cover every
    annotator in ``answers``."""
    out: dict[str, tuple[float, int]] = {}
    for config in controls:
        if not _single_choice(config):
            continue
        given = _given(config, answers)
        if len(given) < 2:
            continue
        credits = answer_credit(
            [v for _w, v in given], list(config.options), [accuracy[w] for w, _v in given]
        )
        for (who, _v), c in zip(given, credits, strict=True):
            correct, counted = out.get(who, (0.0, 0))
            out[who] = (correct + c, counted + 1)
    return out


# A gold answer counts as right when, on every control the gold answer fills, the annotator's
# answer is at least this similar to it (choices: equal; spans and boxes: overlap-based).
GOLD_MATCH = 0.5


def gold_correct(controls: Sequence[Any], answer: dict[str, Any], gold: dict[str, Any] | None) -> bool | None:
    """Whether an answer to a gold task is right (None: the gold answer fills no control)."""
    checked = False
    for config in controls:
        expected = (gold or {}).get(config.name)
        if expected is None:
            continue
        fits = answer_fits(config)
        if not fits(expected):
            continue  # a gold answer made before the control changed type counts neither way (D-06)
        given = answer.get(config.name)
        if given is None:
            return False  # left unanswered
        if not fits(given):
            # made before the control changed type (answers are kept as made, D-06): the two
            # cannot be compared, and the gold answer does not count either way
            continue
        checked = True
        if not gold_match(config, given, expected):
            return False
    return True if checked else None


def gold_match(config: Any, given: Any, expected: Any) -> bool:
    """Whether one control's answer matches its gold answer: equal, or at least ``GOLD_MATCH``
    similar. Left unanswered (None) is wrong, and so are answers that cannot be compared."""
    from labelhouse.controls import get_control

    if given is None:
        return False
    if given == expected:
        return True
    try:
        return bool(get_control(config.type).similarity(config, given, expected) >= GOLD_MATCH)
    except (ValueError, KeyError, TypeError):
        return False  # e.g. rankings of different lengths
