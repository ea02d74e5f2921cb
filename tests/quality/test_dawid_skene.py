"""Dawid-Skene recovers planted confusion matrices; one-coin recovers planted accuracies."""

from __future__ import annotations

import numpy as np

from labelhouse.quality import Answers, fit_dawid_skene, fit_one_coin


def planted(seed: int, n_tasks: int = 3000, n_workers: int = 12, k: int = 3, per_task: int = 6):
    rng = np.random.default_rng(seed)
    confusion = np.empty((n_workers, k, k))
    for w in range(n_workers):
        for true in range(k):
            row = rng.dirichlet(np.ones(k)) * 0.4
            row[true] += 0.6
            confusion[w, true] = row / row.sum()
    prior = np.array([0.5, 0.3, 0.2])
    truth = rng.choice(k, size=n_tasks, p=prior)
    workers = np.array([rng.choice(n_workers, per_task, replace=False) for _ in range(n_tasks)]).ravel()
    tasks = np.repeat(np.arange(n_tasks), per_task)
    probs = confusion[workers, truth[tasks]]
    labels = (rng.random(tasks.size)[:, None] > probs.cumsum(axis=1)[:, :-1]).sum(axis=1)
    return Answers.from_codes(tasks, workers, labels, n_classes=k), truth, confusion, prior


def test_ds_recovers_planted_confusion_matrices() -> None:
    a, truth, confusion, prior = planted(7)
    fit = fit_dawid_skene(a, tol=1e-9, max_iter=500)
    assert np.abs(fit.confusion - confusion).max() < 0.06
    assert np.abs(fit.prior - prior).max() < 0.03
    assert (fit.posteriors.argmax(1) == truth).mean() > 0.95
    expected = np.diagonal(confusion, axis1=1, axis2=2) @ prior
    assert np.abs(fit.reliability - expected).max() < 0.05


def test_ds_beats_majority_vote_with_adversarial_workers() -> None:
    a, truth, confusion, prior = planted(8)
    # make a third of the workers swap classes 0 and 1
    swap = np.array([1, 0, 2])
    bad = a.worker % 3 == 0
    label = np.where(bad, swap[a.label], a.label)
    b = Answers.from_codes(a.task, a.worker, label, n_classes=3)
    ds = fit_dawid_skene(b).posteriors.argmax(1)
    mv = np.bincount(b.task * 3 + b.label, minlength=b.n_tasks * 3).reshape(-1, 3).argmax(1)
    assert (ds == truth).mean() > (mv == truth).mean() + 0.02


def test_one_coin_recovers_planted_accuracies() -> None:
    rng = np.random.default_rng(3)
    n_tasks, n_workers, k = 4000, 10, 4
    acc = np.linspace(0.4, 0.95, n_workers)
    truth = rng.integers(0, k, n_tasks)
    tasks = np.repeat(np.arange(n_tasks), 5)
    workers = np.array([rng.choice(n_workers, 5, replace=False) for _ in range(n_tasks)]).ravel()
    right = rng.random(tasks.size) < acc[workers]
    wrong = (truth[tasks] + rng.integers(1, k, tasks.size)) % k
    labels = np.where(right, truth[tasks], wrong)
    post, skill, _ = fit_one_coin(Answers.from_codes(tasks, workers, labels), tol=1e-9)
    assert np.abs(skill - acc).max() < 0.04
    assert (post.argmax(1) == truth).mean() > 0.9


def test_ds_prior_gives_rare_workers_the_prior_mean() -> None:
    a, *_ = planted(9, n_tasks=200)
    once = Answers.from_codes(
        np.append(a.task, 0), np.append(a.worker, a.n_workers), np.append(a.label, 0), n_classes=3
    )
    plain = fit_dawid_skene(once)
    smooth = fit_dawid_skene(once, smoothing=0.01, diagonal=3.0)
    # truth 2 is (almost) never met by the one-answer worker: the MLE row is made of a vanishing
    # posterior mass, hence certain; the MAP row is the prior mean
    assert plain.confusion[-1, 2].max() > 0.99
    np.testing.assert_allclose(smooth.confusion[-1, 2], np.array([0.01, 0.01, 3.01]) / 3.03, atol=0.02)
