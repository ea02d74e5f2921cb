"""The consensus of several annotations of one task, per control type, with a confidence in [0, 1].

:func:`consensus` looks the rule up by the control's ``type`` in a registry; a new control adds
its rule with :func:`register_rule`, exactly as the built-in ones below do::

    def my_rule(config, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus: ...

    register_rule("my_control", my_rule)

A rule gets at least one answer and positive weights (the dispatcher drops zero-weight annotators
and answers an empty task itself). Weights are annotator reliabilities, 1 unless given.
Confidence measures how much the annotators agree, not how many there are: ``n`` says that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelhouse.controls import get_control
from labelhouse.controls.boxes import iou_matrix
from labelhouse.core.errors import Invalid, NotFound
from labelhouse.quality import matching

__all__ = ["Consensus", "Rule", "consensus", "register_rule", "rule_types"]


@dataclass(frozen=True)
class Consensus:
    """The consensus ``value`` (None when there is nothing to agree on), its confidence, the
    number of annotations, and rule-specific ``details`` (supports, mean and spread, ...)."""

    value: Any
    confidence: float
    n: int
    details: Mapping[str, Any] = field(default_factory=dict)


Rule = Callable[[Any, list[tuple[str, Any]], list[float]], Consensus]

_RULES: dict[str, Rule] = {}


def register_rule(control_type: str, rule: Rule, *, replace: bool = False) -> Rule:
    """Make ``rule`` the consensus of answers of controls of ``control_type``."""
    if control_type in _RULES and not replace:
        raise Invalid(f"a consensus rule for {control_type!r} is already registered", field="type")
    _RULES[control_type] = rule
    return rule


def rule_types() -> list[str]:
    return sorted(_RULES)


def consensus(
    config: Any, answers: Sequence[tuple[str, Any]], weights: Mapping[str, float] | None = None
) -> Consensus:
    """The consensus of ``(annotator id, answer)`` pairs to one control of one task.

    ``weights`` maps annotator ids to reliabilities >= 0 (1 when absent). An annotator of weight 0
    is ignored; with no answers, or only ignored ones, the value is None and the confidence 0.
    """
    try:
        rule = _RULES[config.type]
    except KeyError:
        known = ", ".join(rule_types())
        raise NotFound(
            f"no consensus rule for control type {config.type!r}; known: {known}", field="type"
        ) from None
    weights = weights or {}
    kept: list[tuple[str, Any]] = []
    kept_weights: list[float] = []
    for annotator, answer in answers:
        w = float(weights.get(annotator, 1.0))
        if not math.isfinite(w) or w < 0:
            raise Invalid(
                f"annotator {annotator!r} has weight {w}; weights are finite and >= 0", field="weights"
            )
        if w > 0:
            kept.append((annotator, answer))
            kept_weights.append(w)
    if not kept:
        return Consensus(None, 0.0, len(answers))
    result = rule(config, kept, kept_weights)
    return Consensus(result.value, result.confidence, len(answers), result.details)


def _shares(keys: Sequence[Any], weights: Sequence[float]) -> dict[Any, float]:
    total = sum(weights)
    out: dict[Any, float] = {}
    for key, w in zip(keys, weights, strict=True):
        out[key] = out.get(key, 0.0) + w / total
    return out


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


def choices(config: Any, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus:
    """Single: weighted vote, confidence the winner's share (ties go to the option listed first).
    Multiple: each option is in when its weighted share is >= 1/2 (topped up or cut to the
    control's min/max by share); confidence is the mean decisiveness max(s, 1 - s) over the
    options anyone chose, 1 when nobody chose any."""
    order = {option: i for i, option in enumerate(config.options)}
    if not config.multiple:
        support = _shares([a for _, a in answers], weights)
        winner = min(support, key=lambda o: (-support[o], order.get(o, len(order))))
        return Consensus(winner, support[winner], len(answers), {"support": support})
    total = sum(weights)
    support = {}
    for (_, chosen), w in zip(answers, weights, strict=True):
        for option in chosen:
            support[option] = support.get(option, 0.0) + w / total
    ranked = sorted(support, key=lambda o: (-support[o], order.get(o, len(order))))
    picked = [o for o in ranked if support[o] >= 0.5]
    low, high = config.min_choices or 0, config.max_choices
    if len(picked) < low:
        picked = ranked[:low]
    if high is not None and len(picked) > high:
        picked = picked[:high]
    value = sorted(picked, key=lambda o: order.get(o, len(order)))
    sure = [max(s, 1.0 - s) for s in support.values()]
    confidence = float(np.mean(sure)) if sure else 1.0
    return Consensus(value, confidence, len(answers), {"support": support})


def _decided(kept: list[float], dropped: list[float]) -> float:
    """Mean support of what was kept; if nothing was, the mean opposition to what was proposed."""
    if kept:
        return float(np.mean(kept))
    if dropped:
        return float(np.mean([1.0 - s for s in dropped]))
    return 1.0


def spans(config: Any, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus:
    """Spans grouped by exact (start, end, label); kept when their weighted support is >= 1/2.
    Confidence: the mean support of the kept spans (1 when all agree there are none; when some
    were proposed but none kept, the mean share of weight that left them out)."""
    total = sum(weights)
    support: dict[tuple[int, int, str], float] = {}
    text: dict[tuple[int, int, str], str] = {}
    for (_, marked), w in zip(answers, weights, strict=True):
        for span in {(s["start"], s["end"], s["label"]): s for s in marked}.values():
            key = (span["start"], span["end"], span["label"])
            support[key] = support.get(key, 0.0) + w / total
            if "text" in span:
                text[key] = span["text"]
    kept = sorted(k for k, s in support.items() if s >= 0.5)
    value = [
        {"start": k[0], "end": k[1], "label": k[2], **({"text": text[k]} if k in text else {})} for k in kept
    ]
    dropped = [s for k, s in support.items() if s < 0.5]
    confidence = _decided([support[k] for k in kept], dropped)
    return Consensus(
        value,
        confidence,
        len(answers),
        {"support": {f"{s}-{e} {lab}": v for (s, e, lab), v in support.items()}},
    )


def boxes(config: Any, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus:
    """Objects clustered across annotators (see :mod:`labelhouse.quality.matching`); a cluster is
    kept when its weighted support is >= 1/2, as the weighted mean of its rectangles. Confidence:
    mean support x mean IoU of the members with their consensus object, over the kept clusters."""
    total = sum(weights)
    clusters = matching.cluster_objects([objects for _, objects in answers])
    value: list[dict[str, Any]] = []
    kept_support: list[float] = []
    dropped: list[float] = []
    ious: list[float] = []
    for cluster in clusters:
        support = sum(weights[at] for at, _ in cluster.members) / total
        if support < 0.5:
            dropped.append(support)
            continue
        merged = matching.merge([(obj, weights[at]) for at, obj in cluster.members])
        objects = [obj for _, obj in cluster.members]
        if merged["type"] == "polygon":
            # the bounding box, as in matching; the merged polygon is one of the members
            scores = iou_matrix(matching.corners([merged]), matching.corners(objects))
        else:
            scores = matching.overlap([merged], objects)
        value.append(merged)
        kept_support.append(support)
        ious.append(float(scores.mean()))
    confidence = _decided(kept_support, dropped) * (float(np.mean(ious)) if ious else 1.0)
    details = {"clusters": len(clusters), "support": kept_support, "iou": ious}
    return Consensus(value, confidence, len(answers), details)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value where the cumulative weight reaches half; the midpoint when it lands exactly on half."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / w.sum()
    at = int(np.searchsorted(cum, 0.5 - 1e-12))
    if math.isclose(cum[at], 0.5) and at + 1 < len(v):
        return float((v[at] + v[at + 1]) / 2)
    return float(v[at])


def rating(config: Any, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus:
    """Per score (or per rubric criterion): weighted mean, weighted median and the weighted median
    absolute deviation (MAD). The value is the median rounded half up; confidence is
    ``1 - (weighted mean absolute deviation from the median) / (half the scale)``, averaged over
    the criteria: every rater's distance counts by their weight, so two raters 2 points apart are
    not "certain" because one of them weighs more than half (the MAD, then 0, stays the spread)."""
    w = np.asarray(weights, dtype=np.float64)
    half_scale = (config.max - config.min) / 2
    names = [c.name for c in config.criteria] or [None]
    value: dict[str, int] = {}
    stats: dict[str, dict[str, float]] = {}
    sure: list[float] = []
    for name in names:
        scores = np.asarray([a if name is None else a[name] for _, a in answers], dtype=np.float64)
        median = _weighted_median(scores, w)
        mad = _weighted_median(np.abs(scores - median), w)
        key = name or config.name
        value[key] = min(config.max, max(config.min, _half_up(median)))
        stats[key] = {"mean": float(w @ scores / w.sum()), "median": median, "mad": mad}
        spread = float(w @ np.abs(scores - median) / w.sum())
        sure.append(max(0.0, 1.0 - spread / half_scale))
    result: Any = value if config.criteria else value[config.name]
    details = stats if config.criteria else stats[config.name]
    return Consensus(result, float(np.mean(sure)), len(answers), details)


def text(config: Any, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus:
    """The weighted medoid: the answer with the highest weighted similarity to all answers (itself
    included, so a heavier annotator's own text counts more). Confidence: its weighted mean
    similarity to the others (1 with one answer)."""
    control = get_control(config.type)
    n = len(answers)
    sim = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            sim[i, j] = sim[j, i] = control.similarity(config, answers[i][1], answers[j][1])
    w = np.asarray(weights, dtype=np.float64)
    best = int(np.argmax(sim @ w))
    others = np.arange(n) != best
    confidence = float(sim[best, others] @ w[others] / w[others].sum()) if n > 1 else 1.0
    return Consensus(answers[best][1], confidence, n, {"annotator": answers[best][0]})


def ranking(config: Any, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus:
    """Weighted Borda count (k - 1 points for first place, 0 for last). A draw goes to the response
    with more head-to-head majorities (Copeland), and only then to the lower index: the lower
    index is the response shown first, and a draw given to it puts position bias in the consensus.
    Confidence: the weighted mean of each annotator's ``(tau + 1) / 2`` with the consensus."""
    k = len(answers[0][1])
    if any(sorted(a) != list(range(k)) for _, a in answers):
        raise Invalid("the rankings order different responses; pass answers to one task", field=config.name)
    points = np.zeros(k)
    for (_, order), weight in zip(answers, weights, strict=True):
        points[np.asarray(order, dtype=np.int64)] += weight * np.arange(k - 1, -1, -1)
    above = np.zeros((k, k))  # above[i, j]: the weight of the rankings that put i above j
    for (_, order), weight in zip(answers, weights, strict=True):
        place = np.empty(k, dtype=np.int64)
        place[np.asarray(order, dtype=np.int64)] = np.arange(k)
        above += weight * (place[:, None] < place[None, :])
    majorities = (above > above.T).sum(axis=1)
    value = [int(i) for i in np.lexsort((np.arange(k), -majorities, -points))]
    control = get_control(config.type)
    w = np.asarray(weights, dtype=np.float64)
    agree = np.asarray([control.similarity(config, a, value) for _, a in answers])
    return Consensus(value, float(agree @ w / w.sum()), len(answers), {"points": points.tolist()})


def preference(config: Any, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus:
    """Weighted vote over a, b and tie; when two of them draw for first, the consensus is a tie.
    Strength: the weighted mean among the winner's voters, rounded half up. Confidence: the
    winner's share (on a draw, the drawn share)."""
    support = {"a": 0.0, "b": 0.0, "tie": 0.0} | _shares([a["winner"] for _, a in answers], weights)
    top = max(support.values())
    leaders = [side for side in ("a", "b", "tie") if math.isclose(support[side], top)]
    winner = leaders[0] if len(leaders) == 1 else "tie"
    value: dict[str, Any] = {"winner": winner}
    if winner != "tie":
        pairs = [
            (a.get("strength", 1), w)
            for (_, a), w in zip(answers, weights, strict=True)
            if a["winner"] == winner
        ]
        mean = sum(s * w for s, w in pairs) / sum(w for _, w in pairs)
        value["strength"] = _half_up(mean)
    return Consensus(value, top, len(answers), {"support": support})


for _type, _rule in (
    ("choices", choices),
    ("spans", spans),
    ("boxes", boxes),
    ("rating", rating),
    ("text", text),
    ("ranking", ranking),
    ("preference", preference),
):
    register_rule(_type, _rule)
