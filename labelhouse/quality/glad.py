"""GLAD (``glad``): worker ability and task difficulty, Whitehill et al. 2009, multi-class form.

P(worker w is right on task t) = sigmoid(alpha_w * beta_t) with beta_t = exp(b_t) > 0; a wrong
answer is any other class, evenly. EM: the E-step is one-coin with a per-answer accuracy; the
M-step takes a few L-BFGS steps on (alpha, b) with Gaussian priors alpha ~ N(1, 1), b ~ N(0, 1).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from labelhouse.quality.answers import Answers, FloatArray
from labelhouse.quality.dawid_skene import EPS, softmax_rows
from labelhouse.quality.inference import Result
from labelhouse.quality.majority import majority_posteriors
from labelhouse.quality.votes import tally


def fit_glad(
    answers: Answers, *, max_iter: int = 30, tol: float = 1e-5, m_steps: int = 5
) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Returns (posteriors, alpha per worker, beta per task, iterations)."""
    k, n_w, n_t = answers.n_classes, answers.n_workers, answers.n_tasks
    w, t = answers.worker, answers.task
    n = max(answers.n_answers, 1)
    weights = (np.bincount(t, minlength=n_t) > 0).astype(np.float64)
    post = majority_posteriors(answers)
    prior = (weights @ post) / max(weights.sum(), 1.0)
    params = np.concatenate([np.ones(n_w), np.zeros(n_t)])
    wrong_share = np.log(max(k - 1, 1))

    def m_step(params: FloatArray, right: FloatArray) -> FloatArray:
        def objective(p: FloatArray) -> tuple[float, FloatArray]:
            alpha, b = p[:n_w], p[n_w:]
            beta = np.exp(b)
            x = alpha[w] * beta[t]
            q = right * log_expit(x) + (1 - right) * log_expit(-x)
            g = right - expit(x)
            grad_alpha = np.bincount(w, weights=g * beta[t], minlength=n_w) - (alpha - 1)
            grad_b = np.bincount(t, weights=g * x, minlength=n_t) - b
            value = q.sum() - 0.5 * ((alpha - 1) ** 2).sum() - 0.5 * (b**2).sum()
            return -float(value), -np.concatenate([grad_alpha, grad_b])

        res = minimize(objective, params, jac=True, method="L-BFGS-B", options={"maxiter": m_steps})
        return np.asarray(res.x, dtype=np.float64)

    ll, it = -np.inf, 0
    for _ in range(max_iter):
        it += 1
        params = m_step(params, post[t, answers.label])
        alpha, beta = params[:n_w], np.exp(params[n_w:])
        x = alpha[w] * beta[t]
        log_right, log_wrong = log_expit(x), log_expit(-x) - wrong_share
        joint = np.bincount(t, weights=log_wrong, minlength=n_t)[:, None] + tally(
            answers, log_right - log_wrong
        )
        joint += np.log(np.maximum(prior, EPS))
        post, log_norm = softmax_rows(joint)
        prior = (weights @ post) / max(weights.sum(), 1.0)
        new_ll = float(log_norm @ weights) / n
        if abs(new_ll - ll) < tol:
            break
        ll = new_ll
    return post, params[:n_w], np.exp(params[n_w:]), it


class Glad:
    """GLAD: each worker's ability and each task's difficulty, by EM."""

    name = "glad"
    summary = "GLAD: worker ability x task difficulty, by EM"

    def infer(self, answers: Answers, *, seed: int = 0) -> Result:
        post, alpha, _, it = fit_glad(answers)
        # the chance of a right answer on a task of typical difficulty (beta = 1)
        return Result(post, expit(alpha), self.name, it)
