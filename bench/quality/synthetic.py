"""Seeded synthetic crowd answers with planted confusion matrices (default: the 1,000,000-answer set)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Synthetic:
    task: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    truth: np.ndarray  # per task
    confusion: np.ndarray  # (workers, classes, classes): P(answer l | truth k)
    prior: np.ndarray


def generate(
    n_tasks: int = 200_000,
    per_task: int = 5,
    n_workers: int = 2_000,
    n_classes: int = 5,
    *,
    seed: int = 0,
    spammers: float = 0.1,
) -> Synthetic:
    """Each task gets ``per_task`` distinct workers. Worker accuracy ~ Beta(6, 2) (a ``spammers``
    share answer uniformly at random); errors are spread by a Dirichlet(1) per truth row."""
    rng = np.random.default_rng(seed)
    k = n_classes
    prior = rng.dirichlet(np.full(k, 5.0))
    acc = rng.beta(6.0, 2.0, size=n_workers)
    acc[rng.random(n_workers) < spammers] = 1.0 / k
    errors = rng.dirichlet(np.ones(k - 1), size=(n_workers, k))
    confusion = np.empty((n_workers, k, k))
    for true in range(k):
        others = [c for c in range(k) if c != true]
        confusion[:, true, true] = acc
        confusion[:, true, others] = (1 - acc)[:, None] * errors[:, true, :]
    truth = rng.choice(k, size=n_tasks, p=prior)
    # distinct workers per task: a random start plus strictly increasing offsets below n_workers
    step = max(n_workers // per_task, 2)
    offsets = np.cumsum(rng.integers(1, step, size=(n_tasks, per_task)), axis=1)
    offsets -= offsets[:, :1]
    worker = ((rng.integers(0, n_workers, size=(n_tasks, 1)) + offsets) % n_workers).ravel()
    task = np.repeat(np.arange(n_tasks), per_task)
    cdf = np.cumsum(confusion[worker, truth[task]], axis=1)
    label = (rng.random(task.size)[:, None] > cdf[:, :-1]).sum(axis=1)
    return Synthetic(task, worker, label.astype(np.int64), truth, confusion, prior)


def save(path: str, n_tasks: int = 200_000, *, seed: int = 0) -> None:
    """The arrays a benchmark needs, for a fresh process to load without the generator's memory."""
    s = generate(n_tasks, seed=seed)
    np.savez(path, task=s.task, worker=s.worker, label=s.label, truth=s.truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", help="CSV file to write (item,worker,label)")
    ap.add_argument("--tasks", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    s = generate(args.tasks, seed=args.seed)
    with open(args.out, "w") as f:
        f.write("item,worker,label\n")
        for t, w, lab in zip(s.task.tolist(), s.worker.tolist(), s.label.tolist(), strict=True):
            f.write(f"t{t},w{w},c{lab}\n")


if __name__ == "__main__":
    main()
