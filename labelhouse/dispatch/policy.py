"""Pure decisions of the queue, tested without a database."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# A user may hold this many live leases in one project: the one on screen and one prefetched.
MAX_LIVE_LEASES = 2
# How many candidates to load when the annotator's skills must be matched in Python.
SKILL_CANDIDATES = 64


@dataclass(frozen=True)
class Candidate:
    task_id: int
    skills: frozenset[str]


def wants_gold(rng: random.Random, gold_rate: float) -> bool:
    """Whether this request should be served a gold task (when one is left for the user)."""
    return gold_rate > 0 and rng.random() < gold_rate


def pick(candidates: Iterable[Candidate], user_skills: frozenset[str]) -> Candidate | None:
    """The first candidate (they come in queue order) whose required skills the user holds."""
    for candidate in candidates:
        if candidate.skills <= user_skills:
            return candidate
    return None


def lease_expiry(now: datetime, lease_seconds: int) -> datetime:
    return now + timedelta(seconds=lease_seconds)


def reusable(live: Sequence[int], prefetch: bool) -> int | None:
    """Which live lease (ids oldest first) answers a ``next`` call, or None to claim a new one.

    Asking again while holding a lease returns that lease, so a retried or repeated ``next``
    never piles up leases. A prefetch may hold one more lease, up to ``MAX_LIVE_LEASES``.
    """
    if not live:
        return None
    if not prefetch:
        return live[0]
    if len(live) >= MAX_LIVE_LEASES:
        return live[-1]
    return None


def skills_of(raw: object) -> frozenset[str]:
    """Required skills as stored: a list, or its JSON text (raw SQL on SQLite)."""
    if isinstance(raw, str | bytes):
        raw = json.loads(raw)
    if not raw:
        return frozenset()
    return frozenset(str(s) for s in raw)  # type: ignore[attr-defined]
