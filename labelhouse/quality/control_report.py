"""One control's section of a project's quality report: consensus with confidence per task,
annotator reliability (estimated and from gold), agreement, and for preference and ranking
controls a leaderboard. Pure: the service hands it plain rows.

Single-choice controls use a truth-inference method (its posteriors and reliabilities). Every
other control uses its consensus rule (:mod:`labelhouse.quality.consensus`) twice: once with equal
weights, which gives each annotator's reliability as their mean similarity with the consensus on
tasks several people answered, then with those reliabilities as weights.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from labelhouse.controls import get_control
from labelhouse.quality import agreement
from labelhouse.quality.consensus import consensus
from labelhouse.quality.inference import get_method
from labelhouse.quality.leaderboard import (
    leaderboard,
    response_names,
    votes_from_preferences,
    votes_from_rankings,
)
from labelhouse.quality.task import gold_match

LOW_CONFIDENCE = 0.8
HISTOGRAM_BINS = 10
# An annotator who agreed with nobody still counts a little: a weight of 0 would drop their
# answers, and a task only they answered would have no consensus at all.
MIN_WEIGHT = 0.05

Row = tuple[str, str, Any]  # (task, annotator, value)

# The Dawid-Skene methods keep a labels x labels confusion matrix per annotator, several arrays
# of it at once. Over this many cells (160 MB per float64 array) the report falls back to
# ``one_coin`` (one accuracy per annotator) and says so, so a 500-option control with a few
# hundred annotators cannot run the server out of memory when a reviewer opens the report.
MAX_CONFUSION_CELLS = 20_000_000
FULL_CONFUSION = frozenset({"ds", "ds_map", "ds_vb"})


@dataclass(frozen=True)
class ControlReport:
    """The section (JSON-ready) and, per answer, its agreement with its task's consensus
    (``(task, annotator, score in [0, 1])``, tasks with two or more answers only), which the
    service buckets by week."""

    section: dict[str, Any]
    answer_scores: list[tuple[str, str, float]] = field(default_factory=list)


def control_report(
    config: Any,
    answers: Sequence[Row],
    gold: Sequence[tuple[str, Any, Any]] = (),
    *,
    method: str,
    responses: Mapping[str, Any] | None = None,
    low_confidence: float = LOW_CONFIDENCE,
) -> ControlReport:
    """``answers``: (task, annotator, value) of non-gold tasks; ``gold``: (annotator, given,
    expected) of gold tasks (``given`` None: left unanswered, wrong); ``responses``: task -> the
    item's ``over`` field (preference and ranking controls, for the names the leaderboard ranks)."""
    single = config.type == "choices" and not getattr(config, "multiple", False)
    report = _single_choice(config, answers, method) if single else _by_rule(config, answers)
    section = report.section
    section["type"] = config.type
    # "low" is the project's review_below when the service passes it, applied to the report's own
    # consensus confidence (its method's, e.g. ds_vb): review routing applies the same threshold
    # to the stored task confidence (the one-coin posterior), so the two counts can differ
    section["low_confidence_below"] = low_confidence
    section["low_confidence_tasks"] = sum(1 for r in section["consensus"] if r["confidence"] < low_confidence)
    section["agreement"] = _agreement(config, answers)
    section["krippendorff_alpha"] = section["agreement"].get("krippendorff_alpha")
    _add_gold(config, section, gold)
    if config.type in ("preference", "ranking"):
        section["leaderboard"] = _leaderboard(config, answers, responses or {})
    return report


def _single_choice(config: Any, answers: Sequence[Row], method: str) -> ControlReport:
    from labelhouse.quality import Answers

    chosen = get_method(method)
    # the options, then any answered value the schema no longer lists (an option removed since),
    # as the one-coin posterior orders them (policy.choice_distribution)
    removed = sorted({str(v) for _t, _a, v in answers}.difference(config.options))
    coded = Answers.from_triples(((t, a, str(v)) for t, a, v in answers), classes=[*config.options, *removed])
    chosen, result, note = _infer_within_memory(chosen, coded)
    labels = [coded.classes[int(i)] for i in result.labels] if coded.n_tasks else []
    confidence = [float(c) for c in result.confidence] if coded.n_tasks else []
    per_task = Counter(t for t, _a, _v in answers)  # answers per task (counts, not lists: 2M rows)
    consensus_rows = [
        {
            "task_id": _task_id(task),
            "label": labels[i],
            "value": labels[i],
            "confidence": round(confidence[i], 4),
            "n": per_task.get(task, 0),
        }
        for i, task in enumerate(coded.tasks)
    ]
    winner = dict(zip(coded.tasks, labels, strict=True))
    scores = [(t, a, float(str(v) == winner[t])) for t, a, v in answers if per_task[t] >= 2]
    # an annotator who never shared a task has no estimate, only the model's prior (Dawid-Skene
    # fits their confusion matrix to their own answers): null, as for the other control types
    shared = {a for t, a, _v in answers if per_task[t] >= 2}
    reliability = {
        w: round(float(result.reliability[i]), 4) for i, w in enumerate(coded.workers) if w in shared
    }
    section = _base(consensus_rows, answers, reliability, scores)
    section["method"] = chosen.name
    if note is not None:
        section["method_note"] = note
    return ControlReport(section, scores)


def _infer_within_memory(chosen: Any, coded: Any) -> tuple[Any, Any, str | None]:
    """The method that ran, its result, and why it is not ``chosen`` (None when it is): a
    Dawid-Skene method over ``MAX_CONFUSION_CELLS``, or one that runs out of memory under it,
    gives way to ``one_coin``."""
    cells = coded.n_workers * coded.n_classes**2
    why = None
    if chosen.name in FULL_CONFUSION and cells > MAX_CONFUSION_CELLS:
        why = (
            f"needs a {coded.n_classes} x {coded.n_classes} matrix for each of {coded.n_workers} "
            f"annotators ({cells:,} cells, over the report's {MAX_CONFUSION_CELLS:,})"
        )
    else:
        try:
            return chosen, chosen.infer(coded, seed=0), None
        except MemoryError:  # under the cell limit but still too big for this machine at the moment
            why = f"ran out of memory on {coded.n_workers} annotators x {coded.n_classes} options"
    fallback = get_method("one_coin")
    return fallback, fallback.infer(coded, seed=0), f"{chosen.name} {why}; one_coin was used instead"


def _by_rule(config: Any, answers: Sequence[Row]) -> ControlReport:
    control = get_control(config.type)
    by_task = _group(answers)
    first = {t: consensus(config, given) for t, given in by_task.items()}
    reliability = _agreement_with(control, config, by_task, first)
    weights = {a: max(r, MIN_WEIGHT) for a, r in reliability.items()}
    final = {t: consensus(config, given, weights) for t, given in by_task.items()}
    rows = []
    for task, found in final.items():
        row: dict[str, Any] = {
            "task_id": _task_id(task),
            "value": found.value,
            "confidence": round(found.confidence, 4),
            "n": found.n,
        }
        if config.type == "rating":
            row["spread"] = _rating_spread(found.details)
        rows.append(row)
    scores = [
        (t, a, _similar(control, config, v, final[t].value)) for t, a, v in answers if len(by_task[t]) >= 2
    ]
    section = _base(rows, answers, {a: round(r, 4) for a, r in reliability.items()}, scores)
    section["method"] = "weighted consensus rule"
    if config.type == "rating":
        section["criteria"] = _rating_summary(config, final)
    return ControlReport(section, scores)


def _agreement_with(
    control: Any, config: Any, by_task: Mapping[str, list[tuple[str, Any]]], found: Mapping[str, Any]
) -> dict[str, float]:
    """Each annotator's mean similarity with the (unweighted) consensus over tasks with >= 2 answers."""
    total: dict[str, list[float]] = defaultdict(list)
    for task, given in by_task.items():
        if len(given) < 2:
            continue
        for annotator, value in given:
            total[annotator].append(_similar(control, config, value, found[task].value))
    return {a: sum(s) / len(s) for a, s in total.items()}


def _similar(control: Any, config: Any, a: Any, b: Any) -> float:
    if b is None:
        return 0.0
    try:
        return float(control.similarity(config, a, b))
    except (ValueError, KeyError, TypeError):
        return 0.0  # answers that cannot be compared (e.g. rankings of different lengths) disagree


def _base(
    rows: list[dict[str, Any]],
    answers: Sequence[Row],
    reliability: Mapping[str, float],
    scores: Sequence[tuple[str, str, float]],
) -> dict[str, Any]:
    confidence = [r["confidence"] for r in rows]
    counts: dict[str, int] = defaultdict(int)
    for _t, a, _v in answers:
        counts[a] += 1
    agree: dict[str, list[float]] = defaultdict(list)
    for _t, a, s in scores:
        agree[a].append(s)
    annotators = [
        {
            "annotator": a,
            "answers": counts[a],
            "reliability": reliability.get(a),
            "agreement_with_consensus": round(sum(agree[a]) / len(agree[a]), 4) if agree[a] else None,
        }
        for a in sorted(counts)
    ]
    histogram = [0] * HISTOGRAM_BINS
    for c in confidence:
        histogram[min(HISTOGRAM_BINS - 1, max(0, math.floor(c * HISTOGRAM_BINS)))] += 1
    return {
        "tasks": len(rows),
        "answers": len(answers),
        "mean_confidence": round(sum(confidence) / len(confidence), 4) if confidence else None,
        "confidence_histogram": histogram,
        "consensus": rows,
        "annotators": annotators,
    }


def _add_gold(config: Any, section: dict[str, Any], gold: Sequence[tuple[str, Any, Any]]) -> None:
    from labelhouse.quality.wilson import wilson

    scored: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for annotator, given, expected in gold:
        right = gold_match(config, given, expected)
        scored[annotator][0] += int(right)
        scored[annotator][1] += 1
    by_name = {a["annotator"]: a for a in section["annotators"]}
    for annotator in scored.keys() - by_name.keys():
        by_name[annotator] = {
            "annotator": annotator,
            "answers": 0,
            "reliability": None,
            "agreement_with_consensus": None,
        }
    for annotator, entry in by_name.items():
        correct, total = scored.get(annotator, (0, 0))
        entry["gold"] = {
            "answered": total,
            "correct": correct,
            "accuracy": correct / total if total else None,
            "ci95": [round(x, 4) for x in wilson(correct, total)],
        }
    section["annotators"] = sorted(by_name.values(), key=lambda a: a["annotator"])


# ---- agreement -------------------------------------------------------------------------------


def _agreement(config: Any, answers: Sequence[Row]) -> dict[str, Any]:
    kind = config.type
    if kind == "choices" and not config.multiple:
        return _nominal(list(answers), "cohen_kappa")
    if kind == "preference":
        return _nominal([(t, a, v["winner"]) for t, a, v in answers], "cohen_kappa")
    if kind == "choices":
        return _multi_label(config, answers)
    if kind == "rating":
        return _rating_agreement(config, answers)
    if kind == "ranking":
        return _ranking_agreement(config, answers)
    return _matched(config, answers)


def _nominal(rows: list[Row], pair_measure: str) -> dict[str, Any]:
    # coded once: every measure below reads the same codes (coding is most of their cost)
    coded = agreement.code_ratings(rows) if rows else None
    labels = agreement.per_label(coded, "alpha") if coded else {}
    fleiss = agreement.per_label(coded, "fleiss") if coded else {}
    return {
        "level": "nominal",
        "krippendorff_alpha": _finite(agreement.krippendorff_alpha(coded, "nominal")) if coded else None,
        "fleiss_kappa": _finite(agreement.fleiss_kappa(coded)) if coded else None,
        "percent": _finite(agreement.percent_agreement(coded)) if coded else None,
        "per_label": [
            {"label": str(label), "alpha": _finite(alpha), "fleiss_kappa": _finite(fleiss[label])}
            for label, alpha in labels.items()
        ],
        "pair_measure": pair_measure,
        "pairs": _kappa_pairs(coded if coded else rows),
    }


def _kappa_pairs(rows: list[Row] | agreement.Coded) -> list[dict[str, Any]]:
    if not rows:
        return []
    coded = rows if isinstance(rows, agreement.Coded) else agreement.code_ratings(rows)
    kappa = agreement.pairwise(coded, "kappa")
    percent = agreement.pairwise(coded, "percent")
    out = []
    for i, j in combinations(range(len(kappa.raters)), 2):
        if kappa.counts[i, j] == 0:
            continue
        a, b = sorted((str(kappa.raters[i]), str(kappa.raters[j])))
        out.append(
            {
                "a": a,
                "b": b,
                "items": int(kappa.counts[i, j]),
                "value": _finite(float(kappa.agreement[i, j])),
                "percent": _finite(float(percent.agreement[i, j])),
            }
        )
    return sorted(out, key=lambda p: (p["a"], p["b"]))


def _multi_label(config: Any, answers: Sequence[Row]) -> dict[str, Any]:
    """Multiple choice as one in/out decision per (task, option): alpha, Fleiss and Cohen's kappa
    over those decisions, and per option (one-vs-rest)."""
    binary = [(f"{t}\x1f{option}", a, option in set(v)) for t, a, v in answers for option in config.options]
    out = _nominal(binary, "cohen_kappa")
    labels = agreement.per_label([(t, a, list(v)) for t, a, v in answers], "alpha") if answers else {}
    fleiss = agreement.per_label([(t, a, list(v)) for t, a, v in answers], "fleiss") if answers else {}
    out["per_label"] = [
        {"label": str(label), "alpha": _finite(alpha), "fleiss_kappa": _finite(fleiss[label])}
        for label, alpha in labels.items()
    ]
    out["level"] = "nominal (per option)"
    return out


def _rating_agreement(config: Any, answers: Sequence[Row]) -> dict[str, Any]:
    names = [c.name for c in config.criteria] or [None]
    per: list[dict[str, Any]] = []
    pooled: list[Row] = []
    for name in names:
        rows = [(t, a, v if name is None else v.get(name)) for t, a, v in answers]
        pooled.extend((f"{t}\x1f{name}", a, v) for t, a, v in rows)
        coded = agreement.code_ratings(rows) if rows else None  # once for the three measures
        per.append(
            {
                "label": name or config.name,
                "alpha": _finite(agreement.krippendorff_alpha(coded, "interval")) if coded else None,
                "alpha_ordinal": _finite(agreement.krippendorff_alpha(coded, "ordinal")) if coded else None,
                "fleiss_kappa": _finite(agreement.fleiss_kappa(coded)) if coded else None,
            }
        )
    all_coded = agreement.code_ratings(pooled) if pooled else None
    return {
        "level": "interval",
        "krippendorff_alpha": _finite(agreement.krippendorff_alpha(all_coded, "interval"))
        if all_coded
        else None,
        "krippendorff_alpha_ordinal": _finite(agreement.krippendorff_alpha(all_coded, "ordinal"))
        if all_coded
        else None,
        "fleiss_kappa": _finite(agreement.fleiss_kappa(all_coded)) if all_coded else None,
        "percent": _finite(agreement.percent_agreement(all_coded)) if all_coded else None,
        "per_label": per,
        "pair_measure": "cohen_kappa",
        "pairs": _kappa_pairs(all_coded if all_coded else pooled),
    }


def _ranking_agreement(config: Any, answers: Sequence[Row]) -> dict[str, Any]:
    """Positions as ordinal ratings of each (task, response); pairs by the control's similarity
    ((Kendall's tau + 1) / 2)."""
    rows = [(f"{t}\x1f{response}", a, position) for t, a, v in answers for position, response in enumerate(v)]
    out = _similarity_pairs(config, answers)
    out.update(
        {
            "level": "ordinal",
            "krippendorff_alpha": _finite(agreement.krippendorff_alpha(rows, "ordinal")) if rows else None,
            "fleiss_kappa": None,
            "per_label": [],
        }
    )
    return out


def _matched(config: Any, answers: Sequence[Row]) -> dict[str, Any]:
    """Spans and boxes: the control's similarity of two annotators' answers to a task (span F1 on
    exact matches; box F1 after IoU matching), per pair, overall, and per label with each answer
    cut to that label's objects (pairs where neither drew the label are left out)."""
    out = _similarity_pairs(config, answers)
    control = get_control(config.type)
    by_task = _group(answers)
    per_label = []
    for label in config.labels:
        scores = []
        for given in by_task.values():
            cut = [[o for o in value if o.get("label") == label] for _a, value in given]
            for x, y in combinations(cut, 2):
                if x or y:
                    scores.append(_similar(control, config, x, y))
        per_label.append(
            {
                "label": label,
                "f1": round(sum(scores) / len(scores), 4) if scores else None,
                "pairs": len(scores),
            }
        )
    out.update(
        {"level": "matched F1", "krippendorff_alpha": None, "fleiss_kappa": None, "per_label": per_label}
    )
    return out


def _similarity_pairs(config: Any, answers: Sequence[Row]) -> dict[str, Any]:
    control = get_control(config.type)
    by_pair: dict[tuple[str, str], list[float]] = defaultdict(list)
    for given in _group(answers).values():
        for (a, x), (b, y) in combinations(sorted(given, key=lambda g: g[0]), 2):
            by_pair[(a, b)].append(_similar(control, config, x, y))
    everything = [s for scores in by_pair.values() for s in scores]
    measure = {"spans": "span_f1", "boxes": "box_f1", "ranking": "kendall_tau_scaled"}.get(
        config.type, "similarity"
    )
    return {
        "mean_pairwise": round(sum(everything) / len(everything), 4) if everything else None,
        "percent": None,
        "pair_measure": measure,
        "pairs": [
            {"a": a, "b": b, "items": len(s), "value": round(sum(s) / len(s), 4)}
            for (a, b), s in sorted(by_pair.items())
        ],
    }


# ---- rating and leaderboard ----------------------------------------------------------------


def _rating_spread(details: Mapping[str, Any]) -> Any:
    if "mad" in details:
        return round(float(details["mad"]), 4)
    return {name: round(float(stats["mad"]), 4) for name, stats in details.items()}


def _rating_summary(config: Any, found: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per criterion: the mean over tasks of the weighted mean, weighted median and MAD."""
    names = [c.name for c in config.criteria] or [config.name]
    out = []
    for name in names:
        stats = [
            (f.details if not config.criteria else f.details.get(name, {}))
            for f in found.values()
            if f.details and (not config.criteria or name in f.details)
        ]
        stats = [s for s in stats if "mean" in s]
        n = len(stats)
        out.append(
            {
                "name": name,
                "tasks": n,
                "mean": round(sum(s["mean"] for s in stats) / n, 4) if n else None,
                "median": round(sum(s["median"] for s in stats) / n, 4) if n else None,
                "mean_spread": round(sum(s["mad"] for s in stats) / n, 4) if n else None,
            }
        )
    return out


def _leaderboard(config: Any, answers: Sequence[Row], responses: Mapping[str, Any]) -> dict[str, Any]:
    named: list[tuple[list[str], Any]] = []
    models = True
    for task, _a, value in answers:
        count = 2 if config.type == "preference" else len(value)
        names, are_models = response_names(responses.get(task), count)
        models = models and are_models
        named.append((names, value))
    if not models:  # mixing model names and positions would rank apples with pears
        named = [(response_names(None, len(names))[0], value) for names, value in named]
    if config.type == "preference":
        board = leaderboard(votes_from_preferences(named))
    else:
        # a ranking's pairs stand or fall together: the bootstrap resamples whole rankings
        votes, clusters = [], []
        for n, answer in enumerate(named):
            pairs = votes_from_rankings([answer])
            votes.extend(pairs)
            clusters.extend([n] * len(pairs))
        board = leaderboard(votes, clusters=clusters)
    board["ranks"] = "models" if models and named else "positions"
    return board


# ---- small helpers ---------------------------------------------------------------------------


def _group(answers: Sequence[Row]) -> dict[str, list[tuple[str, Any]]]:
    out: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for task, annotator, value in answers:
        out[task].append((annotator, value))
    return out


def _task_id(task: str) -> int | str:
    return int(task) if task.isdigit() else task


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)
