"""Majority vote (``mv``): each task gets the share of votes of each class."""

from __future__ import annotations

from labelhouse.quality.answers import Answers, FloatArray
from labelhouse.quality.inference import Result
from labelhouse.quality.votes import agreement, normalize_rows, tally


def majority_posteriors(answers: Answers) -> FloatArray:
    """Vote shares per task; uniform for a task without answers."""
    return normalize_rows(tally(answers))


class MajorityVote:
    """Vote shares as posteriors; a worker's reliability is their agreement with the majority.

    Ties go to the lowest class code (classes are sorted, so this is stable across runs)."""

    name = "mv"
    summary = "majority vote: the share of votes of each class"

    def infer(self, answers: Answers, *, seed: int = 0) -> Result:
        post = majority_posteriors(answers)
        hard = (post == post.max(axis=1, keepdims=True)).astype(float)
        return Result(post, agreement(answers, normalize_rows(hard)), self.name)
