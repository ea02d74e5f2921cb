"""Claiming, expiring and ending leases, atomically on SQLite and PostgreSQL.

SQLite has one writer at a time (``Database.session(write=True)`` holds it), so a select then
a conditional update is atomic. On PostgreSQL the candidate rows are taken with
``FOR UPDATE SKIP LOCKED``, so concurrent claimers never wait on, or take, the same task; the
conditional update (``done + leased < overlap``) is the final guard on both.

On PostgreSQL each statement is a round trip, so the common claim (an annotator without skills)
is one statement that picks, counts, records the lease and reads the item (``_claim_in_one``),
and the expiry sweep is one statement sent with it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labelhouse.dispatch import policy
from labelhouse.storage.rawsql import Raw

_SEEN = "('active', 'submitted', 'skipped')"


@dataclass(frozen=True)
class ClaimedLease:
    id: int
    task_id: int
    expires_at: datetime
    created: bool
    # (item id, item data, the user's draft, item content hash) when the claim read them too
    item: tuple[Any, ...] | None = None


_EXPIRE_PG = (
    "WITH e AS (UPDATE leases SET state = 'expired', ended_at = :now "
    "WHERE project_id = :p AND state = 'active' AND expires_at <= :now RETURNING task_id) "
    "UPDATE tasks SET leased = GREATEST(tasks.leased - e.n, 0) "
    "FROM (SELECT task_id, COUNT(*) AS n FROM e GROUP BY task_id) e WHERE tasks.id = e.task_id"
)


def expire_stale(db: Raw, project_id: int, now: datetime) -> None:
    """End every lease of the project past its expiry; give the slots back.

    On PostgreSQL this is one statement, deferred: it goes to the server with the unit of work's
    next statement (the claim), not in a round trip of its own."""
    if db.is_postgres:
        db.defer(_EXPIRE_PG, {"p": project_id, "now": now})
        return
    rows = db.all(
        "UPDATE leases SET state = 'expired', ended_at = :now "
        "WHERE project_id = :p AND state = 'active' AND expires_at <= :now "
        "RETURNING task_id",
        {"p": project_id, "now": now},
    )
    for (task_id,) in rows:
        give_back(db, task_id)


def give_back(db: Raw, task_id: int) -> None:
    db.execute("UPDATE tasks SET leased = leased - 1 WHERE id = :t AND leased > 0", {"t": task_id})


def with_live_leases(
    sql: str, params: dict[str, Any], user_id: int, now: datetime
) -> tuple[str, dict[str, Any]]:
    """A statement of one project row (its first column the project's id) extended with the
    user's live leases in that project: one row per lease, oldest first, ending in (id, task_id,
    expires_at), or one row ending in NULLs when there is none. One statement instead of two."""
    return (
        f"SELECT q.*, l.id, l.task_id, l.expires_at FROM ({sql}) q LEFT JOIN leases l "
        "ON l.project_id = q.id AND l.user_id = :u AND l.state = 'active' AND l.expires_at > :now "
        "ORDER BY l.id",
        {**params, "u": user_id, "now": now},
    )


def claim(
    db: Raw,
    *,
    workspace_id: int,
    project_id: int,
    user_id: int,
    skills: frozenset[str],
    gold_rate: float,
    lease_seconds: int,
    now: datetime,
    rng: random.Random,
    skip_locked: bool,
) -> ClaimedLease | None:
    """Lease the best open task for the user, or None when there is no work for them."""
    order = [True, False] if policy.wants_gold(rng, gold_rate) else [False]
    for gold in order:
        if db.is_postgres and skip_locked and not skills:
            claimed = _claim_in_one(db, workspace_id, project_id, user_id, gold, lease_seconds, now)
            if claimed is not None:
                return claimed
            # Nothing free, or every candidate was taken meanwhile: the general path decides.
        task_id = _lease_one(db, project_id, user_id, skills, gold, skip_locked)
        if task_id is not None:
            return _record(db, workspace_id, project_id, task_id, user_id, lease_seconds, now)
    return None


def _candidates_sql(gold: bool, skills: frozenset[str]) -> str:
    # Gold tasks are answered by everyone once, so no overlap bound applies to them.
    slot = "" if gold else "AND t.done + t.leased < t.overlap "
    skill_filter = "" if skills else "AND t.skills IS NULL "
    return (
        "SELECT t.id, t.skills FROM tasks t "
        "WHERE t.project_id = :p AND t.state = 'open' AND t.is_gold = :gold "
        + slot
        + skill_filter
        + "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.user_id = :u "
        f"AND l.state IN {_SEEN}) "
        "ORDER BY t.queue_rank, t.id LIMIT :n"
    )


def _claim_in_one(
    db: Raw, workspace_id: int, project_id: int, user_id: int, gold: bool, lease_seconds: int, now: datetime
) -> ClaimedLease | None:
    """PostgreSQL, an annotator without skills: pick the first open task (skipping rows other
    claimers hold), count the lease on it, record the lease and read the item and the user's
    draft, in one statement (one round trip instead of four). The same rules as ``_lease_one`` +
    ``_record``: the row lock, then the conditional ``done + leased < overlap`` update, then the
    upsert of the (task, user) lease row. None when no row came back (no candidate, or the guard
    refused it); the caller then runs the general path."""
    guard = "" if gold else " AND tasks.done + tasks.leased < tasks.overlap"
    expires = policy.lease_expiry(now, lease_seconds)
    row = db.first(
        "WITH c AS (" + _candidates_sql(gold, frozenset()) + " FOR UPDATE OF t SKIP LOCKED), "
        "k AS (UPDATE tasks SET leased = tasks.leased + 1 FROM c "
        f"WHERE tasks.id = c.id AND tasks.state = 'open'{guard} RETURNING tasks.id, tasks.item_id), "
        "l AS (INSERT INTO leases (workspace_id, project_id, task_id, user_id, state, created_at, expires_at) "
        "SELECT :w, :p, k.id, :u, 'active', :now, :exp FROM k "
        "ON CONFLICT (task_id, user_id) DO UPDATE SET state = 'active', created_at = excluded.created_at, "
        "expires_at = excluded.expires_at, ended_at = NULL RETURNING id, task_id) "
        "SELECT l.id, l.task_id, i.id, i.data, d.answer, i.content_hash FROM l JOIN k ON k.id = l.task_id "
        "JOIN items i ON i.id = k.item_id LEFT JOIN drafts d ON d.task_id = l.task_id AND d.user_id = :u",
        {"w": workspace_id, "p": project_id, "u": user_id, "gold": gold, "n": 1, "now": now, "exp": expires},
    )
    if row is None:
        return None
    return ClaimedLease(id=row[0], task_id=row[1], expires_at=expires, created=True, item=row[2:])


def _lease_one(
    db: Raw, project_id: int, user_id: int, skills: frozenset[str], gold: bool, skip_locked: bool
) -> int | None:
    limit = policy.SKILL_CANDIDATES if skills else 1
    lock = " FOR UPDATE OF t SKIP LOCKED" if skip_locked else ""
    sql = _candidates_sql(gold, skills) + lock
    params: dict[str, Any] = {"p": project_id, "u": user_id, "gold": gold, "n": limit}
    for _attempt in range(8):
        rows = db.all(sql, params)
        chosen = policy.pick((policy.Candidate(r[0], policy.skills_of(r[1])) for r in rows), skills)
        if chosen is None:
            return None
        guard = "" if gold else " AND done + leased < overlap"
        updated = db.execute(
            f"UPDATE tasks SET leased = leased + 1 WHERE id = :t AND state = 'open'{guard}",
            {"t": chosen.task_id},
        )
        if updated == 1:
            return chosen.task_id
    return None


def _record(
    db: Raw,
    workspace_id: int,
    project_id: int,
    task_id: int,
    user_id: int,
    lease_seconds: int,
    now: datetime,
) -> ClaimedLease:
    expires = policy.lease_expiry(now, lease_seconds)
    # One row per (task, user) ever: a released or expired lease is taken up again (one upsert).
    row = db.first(
        "INSERT INTO leases (workspace_id, project_id, task_id, user_id, state, created_at, expires_at) "
        "VALUES (:w, :p, :t, :u, 'active', :now, :exp) "
        "ON CONFLICT (task_id, user_id) DO UPDATE SET state = 'active', created_at = excluded.created_at, "
        "expires_at = excluded.expires_at, ended_at = NULL RETURNING id",
        {"w": workspace_id, "p": project_id, "t": task_id, "u": user_id, "now": now, "exp": expires},
    )
    assert row is not None
    return ClaimedLease(id=row[0], task_id=task_id, expires_at=expires, created=True)


_TASK_DONE = (
    "UPDATE tasks SET leased = CASE WHEN leased > 0 THEN leased - 1 ELSE 0 END, done = done + 1, "
    "state = CASE WHEN NOT is_gold AND done + 1 >= overlap THEN 'complete' ELSE state END WHERE id = :t"
)


def end(db: Raw, lease_id: int, task_id: int, state: str, now: datetime) -> None:
    """End an active lease as released or skipped, giving its slot back (submits end theirs in
    ``finish_submit``)."""
    db.execute(
        "UPDATE leases SET state = :st, ended_at = :now WHERE id = :l",
        {"st": state, "now": now, "l": lease_id},
    )
    give_back(db, task_id)


# The answer that completes a task also stores its consensus, and may raise its overlap (adaptive
# overlap asking for one more label), which decides whether it is complete.
_TASK_DONE_CONSENSUS = (
    "UPDATE tasks SET leased = CASE WHEN leased > 0 THEN leased - 1 ELSE 0 END, done = done + 1, "
    "consensus = {json}, confidence = :cf, overlap = :ov, "
    # a reviewed task that took a new answer (after a rejection or a deletion) is up for review again
    "review_state = CASE WHEN review_state = 'reviewed' THEN NULL ELSE review_state END, "
    "state = CASE WHEN NOT is_gold AND done + 1 >= :ov THEN 'complete' ELSE state END WHERE id = :t"
)


@dataclass(frozen=True)
class TaskOutcome:
    """What a completing submit stores on its task: the consensus (JSON text), the task's
    confidence, and its overlap (raised by one when adaptive overlap wants another label)."""

    consensus: str
    confidence: float | None
    overlap: int


def finish_submit(
    db: Raw, lease_id: int, task_id: int, user_id: int, now: datetime, outcome: TaskOutcome | None = None
) -> None:
    """After a submit: the lease ends as submitted, the task counts one more answer (and takes
    the outcome, when given), the draft goes.

    On PostgreSQL in one statement, deferred (each round trip costs both sides CPU): it goes to
    the server with the unit of work's next statement, usually the commit; on SQLite, where
    statements are local calls, as three.
    """
    params: dict[str, Any] = {"l": lease_id, "t": task_id, "u": user_id, "now": now}
    task_sql = _TASK_DONE
    if outcome is not None:
        task_sql = _TASK_DONE_CONSENSUS.format(json="CAST(:c AS JSONB)" if db.is_postgres else ":c")
        params.update(c=outcome.consensus, cf=outcome.confidence, ov=outcome.overlap)
    if db.is_postgres:
        db.defer(
            "WITH l AS (UPDATE leases SET state = 'submitted', ended_at = :now WHERE id = :l), "
            "d AS (DELETE FROM drafts WHERE task_id = :t AND user_id = :u) " + task_sql,
            params,
        )
        return
    db.execute("UPDATE leases SET state = 'submitted', ended_at = :now WHERE id = :l", params)
    db.execute(task_sql, params)
    db.execute("DELETE FROM drafts WHERE task_id = :t AND user_id = :u", params)
