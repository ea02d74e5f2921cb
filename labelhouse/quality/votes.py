"""Vote tallies over answers: weighted counts per task and class, row normalisation, agreement."""

from __future__ import annotations

import numpy as np

from labelhouse.quality.answers import Answers, FloatArray


def tally(answers: Answers, weights: FloatArray | None = None) -> FloatArray:
    """(tasks x classes) sum of the weights of the answers giving each class to each task."""
    k = answers.n_classes
    flat = np.bincount(
        answers.task * k + answers.label, weights=weights, minlength=answers.n_tasks * k
    ).astype(np.float64)
    return flat.reshape(answers.n_tasks, k)


def normalize_rows(m: FloatArray, fallback: FloatArray | None = None) -> FloatArray:
    """Rows scaled to sum to 1; an all-zero row becomes ``fallback`` (uniform by default)."""
    total = m.sum(axis=1, keepdims=True)
    empty = total[:, 0] <= 0
    out = np.divide(m, total, out=np.zeros_like(m), where=total > 0)
    if empty.any():
        k = m.shape[1]
        out[empty] = np.full(k, 1.0 / k) if fallback is None else fallback
    return out


def agreement(answers: Answers, posteriors: FloatArray, smoothing: float = 0.0) -> FloatArray:
    """Per worker: the mean probability that their answers are right under ``posteriors``,
    pulled towards 1/2 by ``smoothing`` pseudo-answers (workers with no answers get 1/2 then)."""
    right = posteriors[answers.task, answers.label]
    n = np.bincount(answers.worker, minlength=answers.n_workers).astype(np.float64)
    hits = np.bincount(answers.worker, weights=right, minlength=answers.n_workers)
    return np.divide(hits + 0.5 * smoothing, n + smoothing, out=np.zeros_like(n), where=(n + smoothing) > 0)
