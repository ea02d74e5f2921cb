"""The audit chain's arithmetic: each event's hash covers its fields and the previous hash, so an
edited, deleted, inserted or reordered event breaks every hash after it. Pure: no I/O.

A workspace's log is a set of chains, one per lane: ``main`` (the workspace's own events; its
hashes are computed as before lanes existed) and ``user:<id>`` (the tasks handed out to one user).
An annotator lane's hashes cover the lane's name too, so a lane cannot be passed off as another's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS = "0" * 64
MAIN = "main"


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
    lane: str = MAIN


def event_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor_id: int | None,
    actor: str,
    action: str,
    target: str,
    details: Any,
    lane: str = MAIN,
) -> str:
    fields: list[Any] = [seq, at, actor_id, actor, action, target, details]
    if lane != MAIN:
        fields.append(lane)
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def event_fields_json(at: str, actor_id: int | None, actor: str, action: str) -> str:
    """The event's time, actor id, actor and action as ``event_hash`` writes them inside its JSON
    array (no brackets): PostgreSQL's ``lh_next`` (migration 0013) completes the array around
    them (``[seq, <these>, target, details, lane]``) and hashes it the same way."""
    return orjson.dumps([at, actor_id, actor, action]).decode()[1:-1]


def lane_of_user(user_id: int) -> str:
    return f"user:{user_id}"


def lane_user(lane: str) -> int | None:
    """The user whose lane this is (None for ``main``, or a name that is no lane)."""
    prefix, _, digits = lane.partition(":")
    if prefix == "user" and digits.isdigit() and len(digits) <= 18:
        return int(digits)
    return None


def find_breaks(events: Iterable[ChainedEvent]) -> list[str]:
    """What is wrong with one lane's chain read in ``seq`` order (empty: intact). In a user's lane
    every event must also be that user's own."""
    problems: list[str] = []
    expected_prev, expected_seq = GENESIS, 1
    for e in events:
        owner = lane_user(e.lane)
        if e.lane != MAIN and (owner is None or e.actor_id != owner):
            problems.append(f"event {e.seq}: in lane {e.lane!r} but by user {e.actor_id} (moved)")
        if e.seq != expected_seq:
            problems.append(
                f"event {e.seq}: expected sequence number {expected_seq} (an event is missing or reordered)"
            )
        if e.prev_hash != expected_prev:
            problems.append(
                f"event {e.seq}: does not follow the event before it (deleted, inserted or reordered)"
            )
        digest = event_hash(
            e.prev_hash, e.seq, e.at, e.actor_id, e.actor, e.action, e.target, e.details, e.lane
        )
        if digest != e.hash:
            problems.append(f"event {e.seq}: its content does not match its hash (edited)")
        expected_prev, expected_seq = e.hash, e.seq + 1
    return problems
