"""A project's quality policy and the pure decisions made from it: which task a reviewer sees
first, when an annotator is paused by gold, and whether a task needs another label.

Plain Python (no numpy): these run inside the labeling loop's submit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from labelhouse.core.errors import Invalid
from labelhouse.quality.wilson import wilson

# Why a task is in the review queue, in the order the queue serves them.
ROUTES = ("failed_gold", "low_confidence", "routine")

# When adaptive overlap stops asking for labels (``QualityPolicy.stop_rule``): "predictive" once
# the task's posterior reaches the target and its leading answer would, with that probability,
# still lead after the labels left up to max_labels; "posterior" on the posterior alone.
STOP_RULES = ("predictive", "posterior")


@dataclass(frozen=True)
class QualityPolicy:
    """What a manager sets in ``project.quality`` (every field optional)."""

    # review routing: tasks whose confidence is below this come before the rest
    review_below: float = 0.8
    # an annotator whose gold accuracy in the project is below this "failed gold": their tasks
    # come first in the review queue
    gold_pass: float = 0.8
    # the accuracy assumed of every annotator in the posterior of single-choice answers
    assumed_accuracy: float = 0.7
    # auto-pause: an annotator with at least pause_min_gold gold answers (since their last
    # unpause) and a gold accuracy below pause_below is paused in the project; None: never
    pause_below: float | None = None
    pause_min_gold: int = 5
    # adaptive overlap (on when target_confidence is set): every task gets min_labels, then one
    # more at a time until stop_rule is met (see STOP_RULES and wants_more_labels), up to
    # max_labels, while the project's budget of extra labels lasts (None: no budget)
    target_confidence: float | None = None
    min_labels: int = 1
    max_labels: int = 1
    budget_labels: int | None = None
    stop_rule: str = "predictive"
    # weigh each annotator by their estimated accuracy in the project (False: everybody at
    # assumed_accuracy, better where errors depend on the item rather than the annotator)
    annotator_weights: bool = True
    # money per label, only to report what was spent and saved
    label_cost: float | None = None

    @property
    def adaptive(self) -> bool:
        return self.target_confidence is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> QualityPolicy:
        """Read and check a policy; unknown keys and out-of-range values raise ``Invalid``."""
        if not raw:
            return DEFAULT_POLICY
        if not isinstance(raw, Mapping):
            raise Invalid("quality is an object of policy settings", field="quality")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise Invalid(
                f"unknown quality setting {unknown[0]!r}; known: {', '.join(sorted(known))}",
                field=f"quality.{unknown[0]}",
            )
        values = dict(raw)
        for f in fields(cls):
            if f.name in values and values[f.name] is None and f.default is not None:
                raise Invalid(
                    f"quality.{f.name} cannot be null (it has no off state): leave it out for the "
                    f"default, {f.default}",
                    field=f"quality.{f.name}",
                )
        for name in ("review_below", "gold_pass", "assumed_accuracy", "pause_below", "target_confidence"):
            _fraction(values, name)
        for name in ("pause_min_gold", "min_labels", "max_labels"):
            _count(values, name, least=1)
        _count(values, "budget_labels")
        rule = values.get("stop_rule", "predictive")
        if rule not in STOP_RULES:
            raise Invalid(f"quality.stop_rule is one of: {', '.join(STOP_RULES)}", field="quality.stop_rule")
        if not isinstance(values.get("annotator_weights", True), bool):
            raise Invalid("quality.annotator_weights is true or false", field="quality.annotator_weights")
        cost = values.get("label_cost")
        if cost is not None and (not isinstance(cost, int | float) or isinstance(cost, bool) or cost < 0):
            raise Invalid("quality.label_cost is a number >= 0 (money per label)", field="quality.label_cost")
        policy = cls(**values)
        if policy.max_labels < policy.min_labels or policy.max_labels > 100:
            raise Invalid("quality needs 1 <= min_labels <= max_labels <= 100", field="quality.max_labels")
        if not 0.0 < policy.assumed_accuracy < 1.0:
            raise Invalid(
                "quality.assumed_accuracy is strictly between 0 and 1", field="quality.assumed_accuracy"
            )
        return policy


DEFAULT_POLICY = QualityPolicy()


def _fraction(values: dict[str, Any], name: str) -> None:
    value = values.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise Invalid(f"quality.{name} is a fraction from 0 to 1", field=f"quality.{name}")
    values[name] = float(value)


def _count(values: dict[str, Any], name: str, least: int = 0) -> None:
    value = values.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise Invalid(f"quality.{name} is a whole number >= {least}", field=f"quality.{name}")


# -- the posterior of a single-choice task ------------------------------------------------------


def choice_distribution(
    answers: Sequence[str], options: Sequence[str], accuracy: float | Sequence[float]
) -> dict[str, float]:
    """The posterior over options under the one-coin model: each answer is right with probability
    ``accuracy`` (one number, or one per answer) and otherwise one of the other options
    uniformly; uniform prior. Keys: the options, then any answered value not among them, in that
    order. No answers: the uniform distribution."""
    k = max(len(options), 2)
    accuracies = [accuracy] * len(answers) if isinstance(accuracy, int | float) else list(accuracy)
    # log-likelihood of "the truth is c" = sum over answers of log(a) if the answer is c, else
    # log((1 - a) / (k - 1)); everything but the first term is the same for all c.
    gain: dict[str, float] = {}
    for answer, a in zip(answers, accuracies, strict=True):
        a = min(max(float(a), 1e-6), 1 - 1e-6)
        gain[answer] = gain.get(answer, 0.0) + math.log(a * (k - 1) / (1 - a))
    order = list(options) + [a for a in gain if a not in options]
    scores = [gain.get(option, 0.0) for option in order]
    top = max(scores, default=0.0)
    weights = [math.exp(s - top) for s in scores]
    # options nobody chose share the zero gain; count them once each
    total = sum(weights) + max(0, k - len(order)) * math.exp(-top)
    return {option: w / total for option, w in zip(order, weights, strict=True)}


def choice_posterior(
    answers: Sequence[str], options: Sequence[str], accuracy: float | Sequence[float]
) -> tuple[str | None, float]:
    """The most likely option and its posterior probability under the one-coin model
    (:func:`choice_distribution`). Ties go to the option listed first. No answers: ``(None, 0.0)``.
    """
    if not answers:
        return None, 0.0
    dist = choice_distribution(answers, options, accuracy)
    best = max(dist, key=dist.__getitem__)  # the first of the largest: listed options come first
    return best, dist[best]


def plurality_choice(answers: Sequence[str], dist: Mapping[str, float]) -> str:
    """The stored label of a single-choice control: among the options chosen by the most
    annotators, the one with the highest posterior in ``dist`` (:func:`choice_distribution`);
    ties go to the option listed first. The annotators' records decide between options chosen
    equally often and when a task may stop (:func:`wants_more_labels`: the posterior of this
    label, when it is not the posterior's winner, is below 1/2, so under any target of 1/2 or
    more it reaches the target only as the winner), never for a label
    fewer annotators chose than another (docs/quality.md, "The plurality rule")."""
    counts = Counter(answers)
    most = max(counts.values())
    return max((o for o in dist if counts.get(o, 0) == most), key=dist.__getitem__)


def vote_weight(accuracy: float, n_options: int) -> float:
    """The weight of an answer in a weighted vote that picks the one-coin posterior's winner:
    its log-odds of being right, log(a (k - 1) / (1 - a)). Zero for a coin flip among k options."""
    k = max(n_options, 2)
    a = min(max(accuracy, 1.0 / k), 1 - 1e-6)
    return math.log(a * (k - 1) / (1 - a))


# Pseudo-answers of the prior in an annotator's estimated accuracy: with few answers the estimate
# stays near assumed_accuracy, with many it is their own record.
PRIOR_ANSWERS = 4.0


def annotator_accuracy(correct: float, counted: float, policy: QualityPolicy) -> float:
    """An annotator's estimated accuracy in a project from their running record: ``correct`` is
    the expected number of right answers among ``counted`` (see :func:`answer_credit`), smoothed
    towards the assumed accuracy, and kept in [0.5, 0.99] so one bad start cannot silence or
    crown anybody. With ``annotator_weights`` off: the assumed accuracy, whatever the record."""
    if not policy.annotator_weights:
        return policy.assumed_accuracy
    estimate = (correct + PRIOR_ANSWERS * policy.assumed_accuracy) / (counted + PRIOR_ANSWERS)
    return min(max(estimate, 0.5), 0.99)


def answer_credit(
    answers: Sequence[str], options: Sequence[str], accuracy: float | Sequence[float]
) -> list[float]:
    """How much each answer of a finished task adds to its annotator's ``correct`` count: the
    posterior probability that it is right, given the task's answers and the annotators'
    current accuracies. Adding these up over tasks is an online EM step for the one-coin model
    (the E-step's expected right answers), so the estimates approach what a refit would give
    without refitting the project on the submit path."""
    dist = choice_distribution(answers, options, accuracy)
    return [dist[a] for a in answers]


# -- review routing -----------------------------------------------------------------------------


def failed_gold(correct: int, answered: int, policy: QualityPolicy) -> bool:
    """An annotator failed gold in a project when their gold accuracy there is below the pass mark."""
    return answered > 0 and correct / answered < policy.gold_pass


def review_route(confidence: float | None, any_failed_gold: bool, policy: QualityPolicy) -> str:
    """Why a complete task is in the review queue: an annotator of it failed gold, its consensus
    confidence is below the project's threshold, or routine. The queue serves them in ``ROUTES``
    order, least confident first within each."""
    if any_failed_gold:
        return "failed_gold"
    if confidence is not None and confidence < policy.review_below:
        return "low_confidence"
    return "routine"


# -- auto-pause ----------------------------------------------------------------------------------


def pause_reason(correct: int, answered: int, policy: QualityPolicy) -> str | None:
    """Why an annotator should be paused by their gold answers (since their last unpause), or
    None. The reason names the figures a manager needs to judge it: the score, its 95% Wilson
    interval (how sure the score is: 1/3 and 10/30 are not the same evidence) and the bar."""
    if policy.pause_below is None or answered < policy.pause_min_gold:
        return None
    accuracy = correct / answered
    if accuracy >= policy.pause_below:
        return None
    low, high = wilson(correct, answered)
    return (
        f"gold accuracy {correct}/{answered} ({accuracy:.0%}; 95% interval {low:.0%} to {high:.0%}) "
        f"is below the project's {policy.pause_below:.0%} (quality.pause_below)"
    )


# -- adaptive overlap ---------------------------------------------------------------------------


def leader_holds(counts: Sequence[float], remaining: int, prior: float = 1.0) -> float:
    """The probability that the option with the largest count (the first of them) still leads
    after ``remaining`` more labels, a tie counting half, when the item's vote shares have a
    Dirichlet(``prior`` + counts) posterior (the labels to come are Dirichlet-multinomial).

    Per rival, the chance it catches up is exact (the labels going to the two of them, then
    their split, both beta-binomial); over several rivals their sum, a union bound, so the
    result is never above the truth. Counts may be fractional (weighted votes). A rival more
    than ``remaining`` behind cannot catch up: with no label left the leader holds for sure."""
    if remaining <= 0 or len(counts) < 2:
        return 1.0
    lead = max(range(len(counts)), key=counts.__getitem__)
    a_lead = counts[lead] + prior
    others_total = sum(counts) + prior * len(counts) - a_lead
    lose = 0.0
    for j, count in enumerate(counts):
        gap = counts[lead] - count
        if j == lead or gap > remaining + 1e-9:
            continue
        a_rival = count + prior
        a_rest = others_total - a_rival
        lose += _caught_up(gap, remaining, a_lead, a_rival, a_rest)
    return min(max(1.0 - lose, 0.0), 1.0)


def _beta_binomial(n: int, a: float, b: float, upto: int) -> list[float]:
    """P(X = x) for x = 0..upto of a beta-binomial(n, a, b) (one lgamma, then the ratio of
    successive terms)."""
    lg = math.lgamma
    p = math.exp(lg(n + b) + lg(a + b) - lg(n + a + b) - lg(b))
    out = [p]
    for x in range(min(upto, n)):
        p *= (n - x) / (x + 1) * (x + a) / (n - x - 1 + b)
        out.append(p)
    return out


def _caught_up(gap: float, remaining: int, a_lead: float, a_rival: float, a_rest: float) -> float:
    """P(the rival ends level with the leader (half) or ahead) when ``gap`` votes behind."""
    if a_rest > 1e-12:
        to_pair = _beta_binomial(remaining, a_lead + a_rival, a_rest, remaining)
    else:
        to_pair = [0.0] * remaining + [1.0]
    total = 0.0
    for m, p_m in enumerate(to_pair):  # m of the labels go to the leader or this rival
        if p_m < 1e-15 or m + 1e-9 < gap:
            continue  # negligible, or too few labels between the two for the rival to catch up
        # x to the leader, m - x to the rival: caught up while gap + 2x - m <= 0
        upto = math.floor((m - gap) / 2 + 1e-9)
        split = _beta_binomial(m, a_lead, a_rival, upto)
        for x, p_x in enumerate(split):
            level = abs(gap + 2 * x - m) <= 1e-9
            total += (0.5 if level else 1.0) * p_m * p_x
    return total


def effective_counts(
    answers: Sequence[str], options: Sequence[str], accuracy: float | Sequence[float], assumed: float
) -> list[float]:
    """Each option's votes (options first, then answered values not among them), every answer
    counted by its weight in the weighted vote relative to an annotator of ``assumed`` accuracy:
    one for them, more for a better record, zero for a coin flip. (An ``assumed`` accuracy no
    better than chance weighs nothing: then the unit is one log-odds.)"""
    k = max(len(options), 2)
    accuracies = [accuracy] * len(answers) if isinstance(accuracy, int | float) else list(accuracy)
    unit = vote_weight(assumed, k) or 1.0
    order = list(options) + [a for a in dict.fromkeys(answers) if a not in options]
    votes = dict.fromkeys(order, 0.0)
    for answer, a in zip(answers, accuracies, strict=True):
        votes[answer] += vote_weight(float(a), k) / unit
    return [votes[o] for o in order]


def wants_more_labels(
    policy: QualityPolicy,
    labels: int,
    confidence: float | None,
    extra_spent: int,
    settled: float | None = None,
) -> bool:
    """Whether a task that has ``labels`` answers should be handed out once more: adaptive
    overlap is on, the task is under its cap, not done by the stop rule, and the project has
    budget for one more extra label.

    Done: the posterior ``confidence`` has reached the target and, under the "predictive" rule,
    ``settled`` (:func:`leader_holds` of the task's weakest single-choice control over the labels
    left up to max_labels; None when it has none) has too: the label is likely right under the
    annotators' records, and unlikely to be overturned by the rest of a full overlap."""
    if policy.target_confidence is None:
        return False
    if labels < policy.min_labels:
        return True
    if labels >= policy.max_labels:
        return False
    target = policy.target_confidence
    done = confidence is not None and confidence >= target
    if done and policy.stop_rule == "predictive" and settled is not None:
        done = settled >= target
    if done:
        return False
    return policy.budget_labels is None or extra_spent < policy.budget_labels
