"""The audit chain's arithmetic: each event's hash covers its fields and the previous hash, so an
edited, deleted, inserted or reordered event breaks every hash after it. Pure: no I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainedEvent:
    seq: int
    at: str  # ISO 8601 UTC, as hashed
    actor_id: int | None
    actor: str
    action: str
    target: str
    details: Any
    prev_hash: str
    hash: str


def event_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor_id: int | None,
    actor: str,
    action: str,
    target: str,
    details: Any,
) -> str:
    body = orjson.dumps(
        [seq, at, actor_id, actor, action, target, details],
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
    )
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def find_breaks(events: Iterable[ChainedEvent]) -> list[str]:
    """What is wrong with a chain read in ``seq`` order (empty: intact)."""
    problems: list[str] = []
    expected_prev, expected_seq = GENESIS, 1
    for e in events:
        if e.seq != expected_seq:
            problems.append(
                f"event {e.seq}: expected sequence number {expected_seq} (an event is missing or reordered)"
            )
        if e.prev_hash != expected_prev:
            problems.append(
                f"event {e.seq}: does not follow the event before it (deleted, inserted or reordered)"
            )
        if event_hash(e.prev_hash, e.seq, e.at, e.actor_id, e.actor, e.action, e.target, e.details) != e.hash:
            problems.append(f"event {e.seq}: its content does not match its hash (edited)")
        expected_prev, expected_seq = e.hash, e.seq + 1
    return problems
