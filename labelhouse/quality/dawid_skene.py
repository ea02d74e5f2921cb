"""Dawid-Skene with a full confusion matrix per worker (``ds``, ``ds_map``, ``ds_vb``), fit by EM
over sparse matrices.

Each EM step is two sparse x dense products with one non-zero per answer, so an iteration over
a million answers takes tens of milliseconds and memory stays a few times the answer arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import digamma

from labelhouse.quality.answers import Answers, FloatArray
from labelhouse.quality.inference import Result
from labelhouse.quality.majority import majority_posteriors

EPS = 1e-10


@dataclass(frozen=True)
class DawidSkeneFit:
    """``confusion[w, k, l]`` = P(worker w answers l | the truth is k); ``prior[k]`` = P(truth is k)."""

    posteriors: FloatArray
    confusion: FloatArray
    prior: FloatArray
    iterations: int
    log_likelihood: float

    @property
    def reliability(self) -> FloatArray:
        """Each worker's expected accuracy: sum over k of prior[k] * confusion[w, k, k]."""
        diag = np.diagonal(self.confusion, axis1=1, axis2=2)
        return np.asarray(diag @ self.prior, dtype=np.float64)


def fit_dawid_skene(
    answers: Answers,
    *,
    smoothing: float = 0.0,
    diagonal: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-5,
    init: FloatArray | None = None,
    variational: bool = False,
) -> DawidSkeneFit:
    """EM from the majority vote. ``smoothing`` adds a symmetric Dirichlet pseudo-count to every
    confusion cell and ``diagonal`` an extra one to the "answered the truth" cells; both 0 is the
    classic MLE. With ``variational`` False the pseudo-counts give the MAP estimate; with True the
    E-step scores answers by the expected log-probability under the Dirichlet posterior of each
    confusion row (mean-field variational Bayes, Liu, Peng & Ihler 2012), which discounts a row
    by how little evidence it rests on, not only by where its mean lies.
    Stops when the log-likelihood per answer changes by less than ``tol``."""
    k, n_w, n_t = answers.n_classes, answers.n_workers, answers.n_tasks
    n = max(answers.n_answers, 1)
    ones = np.ones(answers.n_answers)
    # rows: (worker, answered label); columns: tasks
    by_worker = sparse.csr_matrix(
        (ones, (answers.worker * k + answers.label, answers.task)), shape=(n_w * k, n_t)
    )
    by_task = by_worker.T.tocsr()
    weights = (np.bincount(answers.task, minlength=n_t) > 0).astype(np.float64)
    pseudo = np.full((k, k), smoothing) + np.eye(k) * diagonal

    post = majority_posteriors(answers) if init is None else init
    counts, prior = _m_step(by_worker, post, weights, pseudo, n_w, k)
    ll = -np.inf
    it = 0
    for _ in range(max_iter):
        it += 1
        # log_conf[w*k + l, k'] = log P(l | truth k') so that by_task @ log_conf sums per task
        log_conf = _log_confusion(counts, variational).transpose(0, 2, 1).reshape(n_w * k, k)
        joint = by_task @ log_conf
        joint += np.log(np.maximum(prior, EPS))
        post, log_norm = softmax_rows(joint)
        counts, prior = _m_step(by_worker, post, weights, pseudo, n_w, k)
        new_ll = float(log_norm @ weights) / n
        # MAP/MLE EM never lowers it; the variational score can wobble near the optimum
        if abs(new_ll - ll) < tol or (not variational and new_ll < ll):
            ll = new_ll
            break
        ll = new_ll
    return DawidSkeneFit(post, _confusion(counts), prior, it, ll)


def _confusion(counts: FloatArray) -> FloatArray:
    """Rows of counts (pseudo-counts included) as probabilities; a row with no mass is uniform."""
    k = counts.shape[-1]
    totals = counts.sum(axis=2, keepdims=True)
    return np.divide(counts, totals, out=np.full_like(counts, 1.0 / k), where=totals > 0)


def _log_confusion(counts: FloatArray, variational: bool) -> FloatArray:
    if not variational:
        return np.log(np.maximum(_confusion(counts), EPS))
    # E[log C[w, k, l]] under Dirichlet(counts[w, k, :]): digamma(c) - digamma(row total). A row
    # with no mass at all (no pseudo-counts, no answers) says nothing: uniform.
    totals = counts.sum(axis=2, keepdims=True)
    safe = np.maximum(counts, EPS)
    expected = digamma(safe) - digamma(np.maximum(totals, EPS))
    return np.where(totals > 0, expected, -np.log(counts.shape[-1]))


def _m_step(
    by_worker: sparse.csr_matrix,
    post: FloatArray,
    weights: FloatArray,
    pseudo: FloatArray,
    n_w: int,
    k: int,
) -> tuple[FloatArray, FloatArray]:
    """Expected counts per (worker, truth, answer) plus the pseudo-counts, and the class prior."""
    counts = np.asarray(by_worker @ post).reshape(n_w, k, k).transpose(0, 2, 1) + pseudo
    # the prior is the mean posterior over the tasks that have answers (weights 1, others 0)
    answered = weights.sum()
    prior = (weights @ post) / answered if answered > 0 else np.full(k, 1.0 / k)
    return counts, prior


def softmax_rows(joint: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Row-wise softmax of log-scores, in place, and each row's log-sum-exp.

    Rows are short (one entry per class) and numpy's axis-1 reductions over short rows are slow,
    so the max and the sum run column by column: this is the hot loop of every EM method."""
    cols = joint.shape[1]
    top = joint[:, 0].copy()
    for c in range(1, cols):
        np.maximum(top, joint[:, c], out=top)
    joint -= top[:, None]
    np.exp(joint, out=joint)
    total = joint[:, 0].copy()
    for c in range(1, cols):
        total += joint[:, c]
    joint /= total[:, None]
    return joint, np.log(total) + top


class DawidSkene:
    """Dawid & Skene (1979): a confusion matrix per worker and a class prior, by EM."""

    def __init__(
        self,
        name: str = "ds",
        *,
        smoothing: float = 0.0,
        diagonal: float = 0.0,
        max_iter: int = 100,
        tol: float = 1e-5,
        variational: bool = False,
        summary: str = "Dawid-Skene: a full confusion matrix per worker, by EM",
    ) -> None:
        self.name = name
        self.summary = summary
        self.smoothing = smoothing
        self.diagonal = diagonal
        self.max_iter = max_iter
        self.tol = tol
        self.variational = variational

    def infer(self, answers: Answers, *, seed: int = 0) -> Result:
        fit = fit_dawid_skene(
            answers,
            smoothing=self.smoothing,
            diagonal=self.diagonal,
            max_iter=self.max_iter,
            tol=self.tol,
            variational=self.variational,
        )
        return Result(fit.posteriors, fit.reliability, self.name, fit.iterations)
