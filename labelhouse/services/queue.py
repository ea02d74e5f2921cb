"""The annotator's verbs on the queue: next, release, skip; and drafts."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Conflict, Forbidden, Invalid, NotFound
from labelhouse.core.ids import ProjectId
from labelhouse.dispatch import leases as lease_sql
from labelhouse.dispatch import policy
from labelhouse.security.permissions import require
from labelhouse.services import audit
from labelhouse.services.annotations import visible_task
from labelhouse.services.clock import aware, utc
from labelhouse.services.item_data import open_fields
from labelhouse.services.projects import queue_project_query, queue_project_row
from labelhouse.storage.rawsql import Duplicate, Raw, json_value
from labelhouse.storage.tables import Draft, Lease

_rng_lock = threading.Lock()
_rng = random.Random()

MAX_DRAFT_BYTES = 5_000_000


@dataclass(frozen=True)
class Handout:
    """What ``next`` hands an annotator: a task with its item, and the lease on it."""

    task_id: int
    item_id: int
    project_id: int
    item: dict[str, Any]
    lease_id: int
    expires_at: datetime
    draft: Any


_sweeps: dict[int, datetime] = {}
SWEEP_EVERY = timedelta(seconds=1)


def _sweep_due(project_id: int, now: datetime) -> bool:
    """Whether this ``next`` should end the project's expired leases: at most once a second per
    project and process, which saves a statement on almost every call. Expiry is lazy anyway; the
    cost is that a slot may come back up to a second late."""
    last = _sweeps.get(project_id)
    if last is not None and last <= now < last + SWEEP_EVERY:
        return False
    if len(_sweeps) > 10000:
        _sweeps.clear()
    _sweeps[project_id] = now
    return True


def _random() -> random.Random:
    with _rng_lock:
        return random.Random(_rng.getrandbits(64))


def with_file_urls(item_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Blob references become URLs the holder of the lease may fetch."""
    out = dict(data)
    for key, value in data.items():
        if isinstance(value, dict) and "blob" in value:
            ref = {k: v for k, v in value.items() if k not in ("blob", "source_url")}
            ref["url"] = f"/api/v1/items/{item_id}/files/{key}"
            out[key] = ref
    return out


def next_task(
    s: Session | Raw,
    actor: Actor,
    project_id: int,
    *,
    now: datetime,
    prefetch: bool = False,
    skip_locked: bool = False,
) -> Handout | None:
    """Hand the annotator a task: their live lease if they hold one, else a newly claimed one.

    The unit of work, on PostgreSQL in three round trips: (1) the project row with the user's live
    leases (one statement), with the transaction's settings; (2) the claim, one statement that also reads the item
    (the expiry sweep, when due, goes with it); (3) the commit, which the caller's ``with`` block
    does. Statements that belong to a handout's transaction go at the marked place at the end.
    """
    require(actor, "task.next", ProjectId(project_id))
    db = Raw.of(s)
    if db.is_postgres:
        # Losing this transaction in a PostgreSQL crash loses no annotation: a handout not yet
        # flushed to disk only leases a task (the slot returns to the queue with it), and any
        # later durable commit (every submit) flushes the WAL before it. Its audit event goes with
        # it, a stated limit of the view log (docs/architecture.md "Durability", docs/security.md).
        db.set_local("synchronous_commit", "off")
        if skip_locked and not actor.skills:
            return _next_in_one(db, actor, project_id, now=now, prefetch=prefetch)
    rows = db.all(*lease_sql.with_live_leases(*queue_project_query(actor, project_id), actor.user_id, now))
    project = queue_project_row(project_id, rows)
    live = [row[-3:] for row in rows if row[-3] is not None]
    if project.paused is not None:
        raise Forbidden(
            f"you are paused in project {project.id}: {project.paused}; ask a manager to unpause you"
        )
    if _sweep_due(project.id, now):
        lease_sql.expire_stale(db, project.id, now)
    reuse = policy.reusable([row[0] for row in live], prefetch)
    item: tuple[Any, ...] | None = None
    if reuse is not None:
        lease_id, task_id, expires = next(row for row in live if row[0] == reuse)
    else:
        claimed = lease_sql.claim(
            db,
            workspace_id=actor.workspace_id,
            project_id=project.id,
            user_id=actor.user_id,
            skills=actor.skills,
            gold_rate=project.gold_rate,
            lease_seconds=project.lease_seconds,
            now=now,
            rng=_random(),
            skip_locked=skip_locked,
        )
        if claimed is None:
            return None
        lease_id, task_id, expires, item = claimed.id, claimed.task_id, claimed.expires_at, claimed.item
    if item is None:
        item = db.first(
            "SELECT i.id, i.data, d.answer, i.content_hash FROM tasks t JOIN items i ON i.id = t.item_id "
            "LEFT JOIN drafts d ON d.task_id = t.id AND d.user_id = :u WHERE t.id = :t",
            {"t": task_id, "u": actor.user_id},
        )
        assert item is not None
    item_id, data, draft, digest = item
    handout = Handout(
        task_id=task_id,
        item_id=item_id,
        project_id=project.id,
        item=with_file_urls(item_id, open_fields(db, actor.workspace_id, project.id, digest, data)),
        lease_id=lease_id,
        expires_at=utc(expires),
        draft=json_value(draft) if draft is not None else None,
    )
    # Who was shown which item: one event in the annotator's own audit lane, in this transaction
    # (one round trip on PostgreSQL: the append must know whether it won its place in the lane).
    # More statements of the handout's transaction go here: ``db.first``/``db.execute`` cost a
    # round trip each on PostgreSQL; one whose rows are not needed can be ``db.defer``red instead
    # and then travels with the commit.
    audit.record_handout(
        db,
        actor,
        project_id=project.id,
        task_id=task_id,
        item_id=item_id,
        lease_id=lease_id,
        again=reuse is not None,
        now=now,
    )
    return handout


# PostgreSQL: the whole of ``next`` as one statement (migration 0013, ``lh_next``).
_NEXT_IN_ONE = (
    "SELECT * FROM lh_next(:w, :p, :u, :now, :prefetch, :sweep, :draw, :live, :actor, :event, :lane)"
)


def _next_in_one(db: Raw, actor: Actor, project_id: int, *, now: datetime, prefetch: bool) -> Handout | None:
    """``next`` on PostgreSQL for an annotator without skills: one statement, ``lh_next``, which
    runs the rules of the path below in the database (the project and the pause, the expiry
    sweep when due, a live lease reused, gold when the draw is under the gold rate, the claim,
    the handout's audit event) and returns the handout. With the transaction's settings before it
    and, from the HTTP edge, the commit after it (``Raw.last``), the unit of work is one round
    trip. docs/architecture.md, "The next function on PostgreSQL", lists where each rule lives
    in both."""
    sweep = _sweep_due(project_id, now)
    event = audit.handout_event(actor, now)
    with _rng_lock:
        draw = _rng.random()
    params = {
        "w": actor.workspace_id,
        "p": project_id,
        "u": actor.user_id,
        "now": now,
        "prefetch": prefetch,
        "sweep": sweep,
        "draw": draw,
        "live": policy.MAX_LIVE_LEASES,
        "actor": event.actor,
        "event": event.fields,
        "lane": event.lane,
    }
    try:
        rows = db.last(_NEXT_IN_ONE, params)
    except Duplicate:
        # twenty appends to the caller's audit lane lost to their own concurrent requests; the
        # whole call rolls back, its sweep too
        if sweep:
            _sweeps.pop(project_id, None)
        raise Conflict("too many of your requests at once; try again") from None
    outcome, reason, lease_id, task_id, expires, item_id, data, draft, digest = rows[0]
    if outcome != "ok" and outcome != "none":
        if sweep:
            _sweeps.pop(project_id, None)  # refused before the sweep: it is still due
        if outcome == "paused":
            raise Forbidden(f"you are paused in project {project_id}: {reason}; ask a manager to unpause you")
        raise NotFound(f"project {project_id} not found")
    if outcome == "none":
        return None
    return Handout(
        task_id=task_id,
        item_id=item_id,
        project_id=project_id,
        item=with_file_urls(item_id, open_fields(db, actor.workspace_id, project_id, digest, data)),
        lease_id=lease_id,
        expires_at=utc(expires),
        draft=draft,
    )


def _own_lease(s: Session, actor: Actor, lease_id: int) -> Lease:
    lease = s.get(Lease, lease_id)
    if (
        lease is None
        or lease.workspace_id != actor.workspace_id
        or not actor.may_see_project(ProjectId(lease.project_id))
    ):
        raise NotFound(f"lease {lease_id} not found")
    if lease.user_id != actor.user_id:
        raise Forbidden("this lease is held by someone else")
    return lease


def end_lease(s: Session, actor: Actor, lease_id: int, how: str, *, now: datetime) -> None:
    """Release (give the task back; you may get it again) or skip (never show it to you again)."""
    if how not in ("released", "skipped"):
        raise Invalid("end a lease by release or skip", field="action")
    require(actor, "task.next")
    lease = _own_lease(s, actor, lease_id)
    if lease.state != "active" or aware(lease.expires_at) <= now:
        raise Conflict(f"lease {lease_id} is no longer active ({lease.state}); nothing to {how[:-2]}")
    lease_sql.end(Raw.of(s), lease.id, lease.task_id, how, now)


def save_draft(s: Session, actor: Actor, task_id: int, answer: Any, *, now: datetime) -> None:
    """Keep a work-in-progress answer on the server; it is not validated until submitted."""
    require(actor, "annotation.submit")
    visible_task(s, actor, task_id)
    if len(orjson.dumps(answer)) > MAX_DRAFT_BYTES:
        raise Invalid(f"a draft is at most {MAX_DRAFT_BYTES} bytes", field="answer")
    draft = s.query(Draft).filter_by(task_id=task_id, user_id=actor.user_id).first()
    if draft is None:
        s.add(
            Draft(
                workspace_id=actor.workspace_id,
                task_id=task_id,
                user_id=actor.user_id,
                answer=answer,
                updated_at=now,
            )
        )
    else:
        draft.answer = answer
        draft.updated_at = now
    s.flush()


def get_draft(s: Session, actor: Actor, task_id: int) -> Any:
    require(actor, "annotation.submit")
    visible_task(s, actor, task_id)
    draft = s.query(Draft).filter_by(task_id=task_id, user_id=actor.user_id).first()
    if draft is None:
        raise NotFound(f"no draft for task {task_id}")
    return draft.answer
