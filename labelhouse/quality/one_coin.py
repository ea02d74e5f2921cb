"""One-coin Dawid-Skene (``one_coin``): one accuracy per worker, errors spread evenly over the other classes."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from labelhouse.quality.answers import Answers, FloatArray
from labelhouse.quality.inference import Result
from labelhouse.quality.majority import majority_posteriors
from labelhouse.quality.votes import agreement, tally

EPS = 1e-10


def fit_one_coin(
    answers: Answers, *, smoothing: float = 0.0, max_iter: int = 100, tol: float = 1e-5
) -> tuple[FloatArray, FloatArray, int]:
    """EM from the majority vote; returns (posteriors, worker accuracy, iterations).

    ``smoothing`` pseudo-answers pull each accuracy towards 1/2 (a Beta prior)."""
    k = answers.n_classes
    n = max(answers.n_answers, 1)
    answered = np.bincount(answers.task, minlength=answers.n_tasks) > 0
    post = majority_posteriors(answers)
    skill = agreement(answers, post, smoothing)
    prior = post[answered].mean(axis=0) if answered.any() else np.full(k, 1.0 / k)
    ll, it = -np.inf, 0
    for _ in range(max_iter):
        it += 1
        p = np.clip(skill, EPS, 1 - EPS)
        wrong = np.log((1 - p) / max(k - 1, 1)) if k > 1 else np.zeros_like(p)
        base = np.bincount(answers.task, weights=wrong[answers.worker], minlength=answers.n_tasks)
        bonus = tally(answers, (np.log(p) - wrong)[answers.worker])
        joint = base[:, None] + bonus + np.log(np.maximum(prior, EPS))
        norm = logsumexp(joint, axis=1, keepdims=True)
        post = np.exp(joint - norm)
        skill = agreement(answers, post, smoothing)
        if answered.any():
            prior = post[answered].mean(axis=0)
        new_ll = float(norm[answered].sum()) / n
        if new_ll - ll < tol:
            break
        ll = new_ll
    return post, skill, it


class OneCoin:
    """Dawid-Skene with one accuracy per worker instead of a confusion matrix: far fewer
    parameters, so it holds up better when workers answer few tasks."""

    def __init__(self, name: str = "one_coin", *, smoothing: float = 0.0, max_iter: int = 100) -> None:
        self.name = name
        self.summary = "one-coin Dawid-Skene: one accuracy per worker, by EM"
        self.smoothing = smoothing
        self.max_iter = max_iter

    def infer(self, answers: Answers, *, seed: int = 0) -> Result:
        post, skill, it = fit_one_coin(answers, smoothing=self.smoothing, max_iter=self.max_iter)
        return Result(post, skill, self.name, it)
