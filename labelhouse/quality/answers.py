"""Categorical answers as integer-coded arrays: the input of every truth-inference method."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labelhouse.core.errors import Invalid

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Answers:
    """One row per (task, worker) pair: ``task[i]`` was given ``label[i]`` by ``worker[i]``.

    Codes run from 0 to ``n_tasks - 1`` (``n_workers``, ``n_classes``). A task, worker or class
    may have no rows at all: a task without answers gets the class prior, a class nobody chose
    gets (near) zero probability. Build with :meth:`from_codes` or :meth:`from_triples`, which
    drop duplicate answers of one worker on one task, keeping the last one (a re-submission
    replaces an earlier answer, as an edit does in the product).
    """

    task: IntArray
    worker: IntArray
    label: IntArray
    n_tasks: int
    n_workers: int
    n_classes: int
    tasks: tuple[str, ...] = field(default=(), repr=False)
    workers: tuple[str, ...] = field(default=(), repr=False)
    classes: tuple[str, ...] = field(default=(), repr=False)

    @property
    def n_answers(self) -> int:
        return int(self.task.shape[0])

    @classmethod
    def from_codes(
        cls,
        task: ArrayLike,
        worker: ArrayLike,
        label: ArrayLike,
        *,
        n_tasks: int | None = None,
        n_workers: int | None = None,
        n_classes: int | None = None,
        tasks: Sequence[str] = (),
        workers: Sequence[str] = (),
        classes: Sequence[str] = (),
    ) -> Answers:
        """Check integer codes, drop duplicates (keep the last), and fill in the counts."""
        t = np.asarray(task, dtype=np.int64).ravel()
        w = np.asarray(worker, dtype=np.int64).ravel()
        lab = np.asarray(label, dtype=np.int64).ravel()
        if not (t.shape == w.shape == lab.shape):
            raise Invalid("task, worker and label must have the same length", field="answers")
        counts = []
        for name, arr, given, names in (
            ("task", t, n_tasks, tasks),
            ("worker", w, n_workers, workers),
            ("label", lab, n_classes, classes),
        ):
            if arr.size and int(arr.min()) < 0:
                raise Invalid(f"{name} codes must be >= 0", field=name)
            needed = int(arr.max()) + 1 if arr.size else 0
            n = max(needed, len(names)) if given is None else given
            if n < needed:
                raise Invalid(f"{name} code {needed - 1} is out of range for {n} {name}s", field=name)
            if names and len(names) != n:
                raise Invalid(f"{len(names)} {name} names for {n} {name}s", field=name)
            counts.append(n)
        nt, nw, nc = counts
        if nc < 1:
            nc = 1
        t, w, lab = _keep_last(t, w, lab, nw)
        return cls(t, w, lab, nt, nw, nc, tuple(tasks), tuple(workers), tuple(classes))

    @classmethod
    def from_triples(
        cls, rows: Iterable[tuple[str, str, str]], *, classes: Sequence[str] | None = None
    ) -> Answers:
        """Code ``(item, worker, label)`` strings. Tasks and workers keep their order of first
        appearance; classes are sorted (numerically when every label is an integer) unless given."""
        task_code: dict[str, int] = {}
        worker_code: dict[str, int] = {}
        label_code: dict[str, int] = {}
        t: list[int] = []
        w: list[int] = []
        raw: list[int] = []
        for item, worker, label in rows:
            t.append(task_code.setdefault(item, len(task_code)))
            w.append(worker_code.setdefault(worker, len(worker_code)))
            raw.append(label_code.setdefault(label, len(label_code)))
        seen = list(label_code)
        if classes is None:
            ordered = sorted(seen, key=_class_key(seen))
        else:
            ordered = list(classes)
            unknown = [c for c in seen if c not in set(ordered)]
            if unknown:
                raise Invalid(f"labels not among the classes: {unknown[:5]}", field="label")
        remap = np.array([ordered.index(c) for c in seen], dtype=np.int64)
        labels = remap[np.asarray(raw, dtype=np.int64)] if raw else np.zeros(0, dtype=np.int64)
        return cls.from_codes(
            t,
            w,
            labels,
            n_tasks=len(task_code),
            n_workers=len(worker_code),
            n_classes=max(len(ordered), 1),
            tasks=list(task_code),
            workers=list(worker_code),
            classes=ordered or ["?"],
        )


def _class_key(labels: list[str]):  # type: ignore[no-untyped-def]
    try:
        for label in labels:
            float(label)
    except ValueError:
        return lambda s: s
    # NaN compares with nothing: put it after every number, so the order is a total one
    return lambda s: (math.isnan(float(s)), 0.0 if math.isnan(float(s)) else float(s), s)


def _keep_last(
    t: IntArray, w: IntArray, lab: IntArray, n_workers: int
) -> tuple[IntArray, IntArray, IntArray]:
    if t.size < 2:
        return t, w, lab
    key = t * max(n_workers, 1) + w
    # the last occurrence of each key is the first one in the reversed array
    _, first_rev = np.unique(key[::-1], return_index=True)
    if first_rev.size == key.size:
        return t, w, lab
    keep = np.sort(key.size - 1 - first_rev)
    return t[keep], w[keep], lab[keep]
