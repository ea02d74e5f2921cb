"""MACE (``mace``): Hovy et al. 2013, workers who either know the answer or spam with a strategy.

A worker answers the truth with probability theta_w and otherwise draws from their own spamming
distribution xi_w over classes, so P(answer l | truth k) = theta_w [l = k] + (1 - theta_w) xi_w[l].
Fit by EM with pseudo-count priors (``a``, ``b`` on theta, ``c`` per class on xi) from the
majority vote; deterministic, so no random restarts.
"""

from __future__ import annotations

import numpy as np

from labelhouse.quality.answers import Answers, FloatArray
from labelhouse.quality.dawid_skene import EPS, softmax_rows
from labelhouse.quality.inference import Result
from labelhouse.quality.majority import majority_posteriors
from labelhouse.quality.votes import agreement, tally


def fit_mace(
    answers: Answers,
    *,
    a: float = 1.0,
    b: float = 1.0,
    c: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-5,
) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Returns (posteriors, theta per worker, xi per worker x class, iterations)."""
    k, n_w, n_t = answers.n_classes, answers.n_workers, answers.n_tasks
    w, t, lab = answers.worker, answers.task, answers.label
    n = max(answers.n_answers, 1)
    weights = (np.bincount(t, minlength=n_t) > 0).astype(np.float64)
    post = majority_posteriors(answers)
    prior = (weights @ post) / max(weights.sum(), 1.0)
    theta = np.clip(agreement(answers, post, 2.0), 0.05, 0.95)
    xi = np.full((n_w, k), 1.0 / k)
    ll, it = -np.inf, 0
    for _ in range(max_iter):
        it += 1
        spam = (1 - theta[w]) * xi[w, lab]
        log_other = np.log(np.maximum(spam, EPS))
        log_same = np.log(np.maximum(theta[w] + spam, EPS))
        joint = np.bincount(t, weights=log_other, minlength=n_t)[:, None] + tally(
            answers, log_same - log_other
        )
        joint += np.log(np.maximum(prior, EPS))
        post, log_norm = softmax_rows(joint)
        prior = (weights @ post) / max(weights.sum(), 1.0)
        # expected share of each answer that was a copy of the truth rather than spam
        knew = post[t, lab] * theta[w] / np.maximum(theta[w] + spam, EPS)
        n_by_worker = np.bincount(w, minlength=n_w)
        knew_by_worker = np.bincount(w, weights=knew, minlength=n_w)
        theta = (knew_by_worker + a) / (n_by_worker + a + b)
        spam_counts = np.bincount(w * k + lab, weights=1 - knew, minlength=n_w * k).reshape(n_w, k) + c
        xi = spam_counts / spam_counts.sum(axis=1, keepdims=True)
        new_ll = float(log_norm @ weights) / n
        if abs(new_ll - ll) < tol:
            break
        ll = new_ll
    return post, theta, xi, it


class Mace:
    """MACE: per worker, the probability of knowing the answer (the reliability) and a spam strategy."""

    name = "mace"
    summary = "MACE: each worker knows the answer or spams with their own strategy, by EM"

    def infer(self, answers: Answers, *, seed: int = 0) -> Result:
        post, theta, _, it = fit_mace(answers)
        return Result(post, theta, self.name, it)
