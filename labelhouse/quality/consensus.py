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


def _shares(keys: Sequence[Any], weights: Sequence[float], total: float | None = None) -> dict[Any, float]:
    """Each key's share of the weight. Summed with ``math.fsum``, exact whatever the order: a plain
    sum of 1.1 and 0.2 differs in its last bit from 0.2 and 1.1, which decided ties at one half (a
    multiple-choice option in or out, a winner, a strength rounded half up) by the order the
    answers came in."""
    total = math.fsum(weights) if total is None else total
    parts: dict[Any, list[float]] = {}
    for key, w in zip(keys, weights, strict=True):
        parts.setdefault(key, []).append(w)
    return {key: math.fsum(ws) / total for key, ws in parts.items()}


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
    support = _shares(
        [option for _, chosen in answers for option in chosen],
        [w for (_, chosen), w in zip(answers, weights, strict=True) for _ in chosen],
        math.fsum(weights),
    )
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
    """Spans matched across annotators by overlap (as boxes are, see :mod:`labelhouse.quality.
    matching`: the same label and an overlap of at least half their union, in characters); a
    matched group is kept when its weighted support is >= 1/2 (for a control with
    ``allow_overlap: false``, and overlapping none that is stronger), as the offsets most of its
    weight chose (on a tie, the one that overlaps the others most, then the earliest). Confidence:
    mean support x mean overlap of the members with the kept span, over the kept spans (1 when all
    agree there are none; when some were proposed but none kept, the mean share of weight that
    left them out)."""
    total = math.fsum(weights)
    marked = [list({(s["start"], s["end"], s["label"]): s for s in given}.values()) for _, given in answers]
    # a span is the rectangle [start, end) x [0, 1): its IoU is the spans' overlap over their union
    as_boxes = [
        [
            {
                "type": "span",
                "label": s["label"],
                "x": s["start"],
                "y": 0,
                "w": s["end"] - s["start"],
                "h": 1,
                "i": i,
            }
            for i, s in enumerate(given)
        ]
        for given in marked
    ]
    support: dict[tuple[int, int, str], float] = {}
    chosen: dict[tuple[int, int, str], dict[str, Any]] = {}
    overlaps: dict[tuple[int, int, str], float] = {}
    for cluster in matching.cluster_objects(as_boxes):
        members = [(at, marked[at][box["i"]]) for at, box in cluster.members]
        span, iou = _representative(members, weights)
        key = (span["start"], span["end"], span["label"])
        share = math.fsum(weights[at] for at, _ in members) / total
        if share > support.get(key, -1.0):  # two groups with the same offsets: the stronger
            support[key], chosen[key], overlaps[key] = share, span, iou
    kept = sorted(k for k, s in support.items() if s >= 0.5)
    if not getattr(config, "allow_overlap", True):
        kept = _without_overlaps(kept, support, list(config.labels))
    value = [
        {
            "start": k[0],
            "end": k[1],
            "label": k[2],
            **({"text": chosen[k]["text"]} if "text" in chosen[k] else {}),
        }
        for k in kept
    ]
    taken = set(kept)
    dropped = [s for k, s in support.items() if k not in taken]
    fit = float(np.mean([overlaps[k] for k in kept])) if kept else 1.0
    confidence = _decided([support[k] for k in kept], dropped) * fit
    return Consensus(
        value,
        confidence,
        len(answers),
        {"support": {f"{s}-{e} {lab}": v for (s, e, lab), v in support.items()}},
    )


def _span_iou(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    inter = min(a["end"], b["end"]) - max(a["start"], b["start"])
    return max(inter, 0) / (max(a["end"], b["end"]) - min(a["start"], b["start"]))


def _representative(
    members: list[tuple[int, Mapping[str, Any]]], weights: list[float]
) -> tuple[dict[str, Any], float]:
    """The offsets of a matched group with the most weight (ties: the span that overlaps the
    other members most, then the one that starts first and is shorter), and the members' mean
    overlap with it."""
    spans = {(s["start"], s["end"]): s for _, s in members}
    weight = _shares([(s["start"], s["end"]) for _, s in members], [weights[at] for at, _ in members], 1.0)

    def fit(k: tuple[int, int]) -> float:
        return sum(_span_iou(spans[k], s) for _, s in members)

    # rounded: equal sums taken in another order differ in their last bits
    best = min(spans, key=lambda k: (-round(weight[k], 12), -round(fit(k), 12), k))
    return dict(spans[best]), fit(best) / len(members)


def _without_overlaps(
    kept: list[tuple[int, int, str]], support: Mapping[tuple[int, int, str], float], labels: list[str]
) -> list[tuple[int, int, str]]:
    """For a control that rejects overlapping spans: the strongest spans first, each kept only if
    it overlaps none kept before it (on equal support, the one that starts first, then the shorter,
    then the label listed first)."""
    order = {label: i for i, label in enumerate(labels)}
    chosen: list[tuple[int, int, str]] = []
    # rounded: equal shares summed in another order differ in their last bits
    for key in sorted(kept, key=lambda k: (-round(support[k], 12), k[0], k[1], order.get(k[2], len(order)))):
        if all(key[1] <= start or end <= key[0] for start, end, _ in chosen):
            chosen.append(key)
    return sorted(chosen)


def boxes(config: Any, answers: list[tuple[str, Any]], weights: list[float]) -> Consensus:
    """Objects clustered across annotators (see :mod:`labelhouse.quality.matching`); a cluster is
    kept when its weighted support is >= 1/2, as the weighted mean of its rectangles. Confidence:
    mean support x mean IoU of the members with their consensus object, over the kept clusters."""
    total = math.fsum(weights)
    clusters = matching.cluster_objects([objects for _, objects in answers])
    value: list[dict[str, Any]] = []
    kept_support: list[float] = []
    dropped: list[float] = []
    ious: list[float] = []
    for cluster in clusters:
        support = math.fsum(weights[at] for at, _ in cluster.members) / total
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
    similarity to the others (1 with one answer).

    Which answer came first must not decide: a tie (two answers always tie at equal weights) goes
    to the text that sorts first, and each pair is compared in sorted order, as the similarity
    (difflib's ratio) can differ with the order of its two texts."""
    control = get_control(config.type)
    n = len(answers)
    keys = [repr(a) for _, a in answers]
    sim = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            x, y = (i, j) if keys[i] <= keys[j] else (j, i)
            sim[i, j] = sim[j, i] = control.similarity(config, answers[x][1], answers[y][1])
    w = np.asarray(weights, dtype=np.float64)
    score = sim @ w
    # a tolerance: the same sum taken in another order differs in its last bits
    top = float(score.max()) - 1e-9 * max(1.0, float(score.max()))
    best = min((i for i in range(n) if score[i] >= top), key=lambda i: (keys[i], answers[i][0]))
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
    given: list[list[float]] = [[] for _ in range(k)]
    for (_, order), weight in zip(answers, weights, strict=True):
        for place, response in enumerate(order):
            given[response].append(weight * (k - 1 - place))
    points = np.asarray([math.fsum(p) for p in given])  # fsum: equal totals tie in any order
    # above[i][j]: the weight of the rankings that put i above j (a Borda draw goes to the
    # response that beats the other on more head-to-head majorities, then to the lower index)
    above: list[list[list[float]]] = [[[] for _ in range(k)] for _ in range(k)]
    for (_, order), weight in zip(answers, weights, strict=True):
        for hi, i in enumerate(order):
            for j in order[hi + 1 :]:
                above[i][j].append(weight)
    totals = np.asarray([[math.fsum(c) for c in row] for row in above])
    majorities = (totals > totals.T).sum(axis=1)
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
        mean = math.fsum(s * w for s, w in pairs) / math.fsum(w for _, w in pairs)
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
