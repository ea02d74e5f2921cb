"""Weighted majority vote, "Wawa" (``wawa``): votes weighted by each worker's agreement with the majority."""

from __future__ import annotations

from labelhouse.quality.answers import Answers
from labelhouse.quality.inference import Result
from labelhouse.quality.majority import majority_posteriors
from labelhouse.quality.votes import agreement, normalize_rows, tally


class Wawa:
    """Worker agreement with aggregate: one round of majority vote, then a vote weighted by each
    worker's rate of agreement with that majority (as Crowd-Kit's ``Wawa``)."""

    name = "wawa"
    summary = "weighted majority vote, weights = agreement with the plain majority"

    def infer(self, answers: Answers, *, seed: int = 0) -> Result:
        mv = majority_posteriors(answers)
        hard = normalize_rows((mv == mv.max(axis=1, keepdims=True)).astype(float))
        skill = agreement(answers, hard)
        post = normalize_rows(tally(answers, skill[answers.worker]))
        return Result(post, skill, self.name)
