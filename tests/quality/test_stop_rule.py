"""Adaptive overlap's "predictive" stop rule: the Dirichlet-multinomial chance that a task's
leading answer survives the labels left up to max_labels (hand-checked), and the properties of
the sequential loop the completing submit runs (min and max labels, unanimous and split items,
the budget)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from labelhouse.controls.choices import ChoicesConfig
from labelhouse.core.errors import Invalid
from labelhouse.quality.policy import (
    QualityPolicy,
    annotator_accuracy,
    choice_distribution,
    effective_counts,
    leader_holds,
    vote_weight,
    wants_more_labels,
)
from labelhouse.quality.task import task_consensus, task_settled

CONFIG = ChoicesConfig(name="label", type="choices", options=["pos", "neg"])
EXAMPLES = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


def _exact(counts: list[int], remaining: int, prior: float = 1.0) -> float:
    """Brute force over every sequence of the remaining labels (Polya urn): P(the first of the
    largest counts leads strictly) + 1/2 P(it ties for the lead with exactly one rival)."""
    lead = max(range(len(counts)), key=counts.__getitem__)
    total = 0.0
    for seq in itertools.product(range(len(counts)), repeat=remaining):
        c = [x + prior for x in counts]
        p = 1.0
        for option in seq:
            p *= c[option] / sum(c)
            c[option] += 1
        final = [x - prior for x in c]
        best_rival = max(v for i, v in enumerate(final) if i != lead)
        ties = sum(1 for i, v in enumerate(final) if i != lead and v == final[lead])
        if final[lead] > best_rival:
            total += p
        elif final[lead] == best_rival and ties == 1:
            total += 0.5 * p
    return total


def test_leader_holds_by_hand() -> None:
    # no label left, or a rival too far behind to catch up: the leader holds for sure
    assert leader_holds([1, 1], 0) == 1.0 and leader_holds([3, 0], 2) == 1.0
    # 2 to 0 with 2 labels left: the rival ties only if it gets both, P = (1/4) (2/5) = 0.1
    assert leader_holds([2, 0], 2) == pytest.approx(1 - 0.5 * 0.1)
    # 3 to 0 with 7 left, Beta(4, 1) shares: the rival gets 7 (P 1/330) or 6 (P 4/330) ahead,
    # 5 ties (P 10/330): beta-binomial(7, 1, 4) for the rival's labels
    assert leader_holds([3, 0], 7) == pytest.approx(1 - (1 + 4 + 0.5 * 10) / 330)
    # level: a coin flip either way (ties half)
    assert leader_holds([1, 1], 2) == pytest.approx(0.5)
    # three options, one label left: to the leader (2/4) it leads, to a rival (1/4 each) a tie
    assert leader_holds([1, 0, 0], 1) == pytest.approx(0.75)
    # fractional (weighted) counts: nobody reaches a 2.5 lead with 2 labels
    assert leader_holds([2.5, 0.0], 2) == 1.0


@pytest.mark.parametrize(
    ("counts", "remaining"),
    [([2, 0], 5), ([3, 1], 6), ([4, 3], 3), ([2, 1, 0], 4), ([3, 2, 2], 3), ([1, 0, 0, 0], 3)],
)
def test_leader_holds_is_exact_for_two_and_a_lower_bound_for_more(counts: list[int], remaining: int) -> None:
    exact = _exact(counts, remaining)
    got = leader_holds(counts, remaining)
    if len(counts) == 2:
        assert got == pytest.approx(exact, abs=1e-12)
    else:  # the union bound over rivals never claims more than the truth
        assert got <= exact + 1e-12


@EXAMPLES
@given(
    lead=st.integers(0, 8),
    behind=st.integers(0, 8),
    remaining=st.integers(0, 25),
)
def test_leader_holds_moves_the_right_way(lead: int, behind: int, remaining: int) -> None:
    counts = [lead + behind, lead]  # leader first, ``behind`` votes ahead
    p = leader_holds(counts, remaining)
    assert 0.0 <= p <= 1.0
    assert leader_holds(counts, remaining + 1) <= p + 1e-12  # more labels to come: less settled
    assert leader_holds([lead + behind + 1, lead], remaining) >= p - 1e-12  # a wider lead: more


def test_effective_counts_weigh_by_record() -> None:
    unit = vote_weight(0.7, 2)
    # a newcomer counts one, a coin flip nothing, a 0.9 record log(9) / log(7/3)
    assert effective_counts(["pos", "neg", "pos"], ["pos", "neg"], [0.7, 0.5, 0.9], 0.7) == pytest.approx(
        [1 + math.log(9) / unit, 0.0]
    )
    # an answer outside the options is counted after them
    assert effective_counts(["x"], ["pos", "neg"], 0.7, 0.7) == [0.0, 0.0, 1.0]
    # assumed accuracy at chance (0.25 of four options): counted in log-odds, no division by zero
    assert effective_counts(["a"], ["a", "b", "c", "d"], 0.5, 0.25) == pytest.approx([math.log(3), 0, 0, 0])


def test_parse_the_new_settings() -> None:
    policy = QualityPolicy.parse({"target_confidence": 0.9, "min_labels": 2, "max_labels": 5})
    assert policy.stop_rule == "predictive" and policy.annotator_weights
    old = QualityPolicy.parse(
        {"target_confidence": 0.9, "stop_rule": "posterior", "annotator_weights": False}
    )
    assert old.stop_rule == "posterior" and not old.annotator_weights
    # everybody at the assumed accuracy whatever their record, with weights off
    assert annotator_accuracy(1000, 1000, old) == 0.7 and annotator_accuracy(1000, 1000, policy) == 0.99
    for bad, field in (
        ({"stop_rule": "soon"}, "quality.stop_rule"),
        ({"annotator_weights": 1}, "quality.annotator_weights"),
    ):
        with pytest.raises(Invalid) as err:
            QualityPolicy.parse(bad)
        assert err.value.field == field


def _labels_taken(policy: QualityPolicy, votes: list[str], accuracy: float) -> int:
    """The completing submit's loop (services.consensus.on_submit) over one task's answers, in
    order: the number of labels it takes before adaptive overlap lets it go."""
    taken: list[tuple[str, dict[str, str]]] = []
    extra = 0
    for n, vote in enumerate(votes, start=1):
        taken.append((f"u{n}", {"label": vote}))
        acc = {who: accuracy for who, _a in taken}
        _values, confidence = task_consensus([CONFIG], taken, policy, acc)
        settled = None
        if policy.stop_rule == "predictive" and policy.min_labels <= n < policy.max_labels:
            settled = task_settled([CONFIG], taken, policy, acc)
        if not wants_more_labels(policy, n, confidence, extra, settled):
            return n
        if n >= policy.min_labels:
            extra += 1
    return len(votes)


def test_unanimous_stops_at_min_labels_split_asks_for_more_by_hand() -> None:
    policy = QualityPolicy.parse({"target_confidence": 0.9, "min_labels": 3, "max_labels": 10})
    # 3 agreeing newcomers: posterior 0.927, leader holds 1 - 10/330 = 0.970 over 7 more: stop
    assert task_settled([CONFIG], [(f"u{i}", {"label": "pos"}) for i in range(3)], policy) == pytest.approx(
        1 - 10 / 330
    )
    assert _labels_taken(policy, ["pos"] * 10, 0.7) == 3
    # 2 against 1 asks for more: one more "pos" (3-1, posterior 0.84) is not enough either
    assert _labels_taken(policy, ["pos", "neg", "pos", "pos", "pos", "pos", "pos"], 0.7) > 4
    # 6 against 2: to the one-coin posterior as sure as 4 to 0 (0.967, both 4 votes ahead), but
    # a split item; with 32 of max_labels 40 to come the predictive rule keeps it open
    strict = QualityPolicy.parse({"target_confidence": 0.95, "min_labels": 2, "max_labels": 40})
    split = [(f"u{i}", {"label": "pos" if i < 6 else "neg"}) for i in range(8)]
    _v, conf = task_consensus([CONFIG], split, strict)
    settled = task_settled([CONFIG], split, strict)
    assert conf == pytest.approx(0.9674, abs=1e-4) and settled == pytest.approx(0.9350, abs=1e-4)
    assert wants_more_labels(strict, 4, conf, 0, settled)
    assert not wants_more_labels(
        QualityPolicy.parse({**strict.to_dict(), "stop_rule": "posterior"}), 4, conf, 0
    )


@EXAMPLES
@given(
    votes=st.lists(st.sampled_from(["pos", "neg"]), min_size=12, max_size=12),
    min_labels=st.integers(1, 4),
    extra=st.integers(0, 8),
    target=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    accuracy=st.sampled_from([0.6, 0.7, 0.9]),
    budget=st.one_of(st.none(), st.integers(0, 3)),
)
def test_the_loop_respects_min_max_and_budget(
    votes: list[str], min_labels: int, extra: int, target: float, accuracy: float, budget: int | None
) -> None:
    policy = QualityPolicy.parse(
        {
            "target_confidence": target,
            "min_labels": min_labels,
            "max_labels": min(min_labels + extra, 12),
            "budget_labels": budget,
        }
    )
    n = _labels_taken(policy, votes, accuracy)
    assert policy.min_labels <= n <= policy.max_labels
    if budget is not None:
        assert n <= policy.min_labels + budget
    # a unanimous item is at least as settled at every step as any other: it never takes more
    assert _labels_taken(policy, ["neg"] * 12, accuracy) <= n


@EXAMPLES
@given(
    votes=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=9),
    accuracies=st.lists(st.floats(0.5, 0.99), min_size=9, max_size=9),
)
def test_the_stored_label_is_always_a_plurality_label(votes: list[str], accuracies: list[float]) -> None:
    """The plurality rule: whatever the records, the stored value is one of the options the most
    annotators chose, the posterior's winner among them; when it is not the winner overall, its
    posterior is at most 1/2, so no target of 1/2 or more lets the task stop on it (the policy
    also accepts lower targets, which can)."""
    config = ChoicesConfig(name="label", type="choices", options=["a", "b", "c"])
    answers = [(f"u{i}", {"label": v}) for i, v in enumerate(votes)]
    accuracy = {f"u{i}": accuracies[i] for i in range(len(votes))}
    values, confidence = task_consensus([config], answers, QualityPolicy.parse({}), accuracy)
    most = max(votes.count(o) for o in "abc")
    leaders = [o for o in "abc" if votes.count(o) == most]
    stored = values["label"]["value"]
    assert stored in leaders
    dist = choice_distribution(votes, ["a", "b", "c"], accuracies[: len(votes)])
    assert dist[stored] == max(dist[o] for o in leaders)
    assert confidence == pytest.approx(dist[stored])
    if dist[stored] < max(dist.values()):
        assert confidence is not None and confidence <= 0.5
