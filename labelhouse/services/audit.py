"""The audit log: record events in the caller's unit of work, list them, verify the chains.

A workspace's log is one hash chain per lane (security/audit.py): ``main`` takes the workspace's
own events (``record``: the workspace row is locked so writers take turns at the chain's end);
``user:<id>`` takes what that user was shown or refused (tasks handed out: ``record_handout``;
files, item pages, review tasks, refused reads: ``record_in_lane``), extended only by that user's
own requests, so handing out tasks to many annotators at once takes no shared lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import Conflict, Invalid, NotFound
from labelhouse.security.audit import (
    GENESIS,
    MAIN,
    ChainedEvent,
    event_fields_json,
    event_hash,
    find_breaks,
    lane_of_user,
    lane_user,
)
from labelhouse.security.permissions import require
from labelhouse.services.clock import utc
from labelhouse.storage.rawsql import Raw
from labelhouse.storage.tables import AuditEvent, Workspace


def _stamp(at: datetime) -> str:
    """The time as hashed, in UTC: ``%Y-%m-%dT%H:%M:%S.%fZ`` (isoformat writes it in a tenth of
    the time).

    A UTC time's isoformat ends in ``+00:00``, cut for the ``Z``: ``replace(tzinfo=None)`` costs
    ~1.6 us, and every handout of the labeling loop is stamped (with ``utcnow()``). A time read
    back from PostgreSQL comes in the session's time zone (``ZoneInfo``, even for UTC), so it is
    converted first: cutting its zone off hashed local time on a server whose ``TimeZone`` is not
    UTC, and ``audit verify`` then found every event edited."""
    return utc(at).isoformat(timespec="microseconds")[:-6] + "Z"


def record(
    s: Session,
    workspace_id: int,
    action: str,
    target: str,
    *,
    actor: Actor | None = None,
    actor_id: int | None = None,
    actor_name: str = "",
    details: Any = None,
    now: datetime,
) -> None:
    """Append one event to the workspace's chain, in the same transaction as the change it records.

    The workspace row is locked first so that concurrent writers take turns at the chain's end
    (PostgreSQL; SQLite has one writer anyway).
    """
    if actor is not None:
        actor_id, actor_name = actor.user_id, actor.email
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT id FROM workspaces WHERE id = :w FOR UPDATE"), {"w": workspace_id})
    last = s.execute(
        text(
            "SELECT seq, hash FROM audit_events WHERE workspace_id = :w AND lane = 'main' "
            "ORDER BY seq DESC LIMIT 1"
        ),
        {"w": workspace_id},
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    stamp = _stamp(now)
    s.add(
        AuditEvent(
            workspace_id=workspace_id,
            lane=MAIN,
            seq=seq,
            at=now,
            actor_id=actor_id,
            actor=actor_name[:320],
            action=action,
            target=target[:200],
            details=details,
            prev_hash=prev,
            hash=event_hash(prev, seq, stamp, actor_id, actor_name[:320], action, target[:200], details),
        )
    )
    s.flush()


HANDOUT = "task_handout"
_LANE_HEAD = (
    "SELECT seq, hash FROM audit_events WHERE workspace_id = :w AND lane = :l ORDER BY seq DESC LIMIT 1"
)
# Appends only right after the event it names as the previous one (``:pseq`` with hash ``:prev``),
# and only if nobody took its number: anything else changes no row.
_LANE_COLUMNS = (
    ("w", "BIGINT"),
    ("l", "VARCHAR"),
    ("seq", "BIGINT"),
    ("at", "TIMESTAMPTZ"),
    ("uid", "BIGINT"),
    ("actor", "VARCHAR"),
    ("action", "VARCHAR"),
    ("target", "VARCHAR"),
    ("d", "JSONB"),
    ("prev", "VARCHAR"),
    ("hash", "VARCHAR"),
)
_LANE_APPEND = (
    "INSERT INTO audit_events (workspace_id, lane, seq, at, actor_id, actor, action, target, details, "
    "prev_hash, hash) SELECT {values} "
    "WHERE :seq = 1 OR EXISTS (SELECT 1 FROM audit_events WHERE workspace_id = :w AND lane = :l "
    "AND seq = :pseq AND hash = :prev) "
    "ON CONFLICT (workspace_id, lane, seq) DO NOTHING"
)
_APPEND = {  # PostgreSQL types the values of a SELECT itself: each gets its column's type
    False: _LANE_APPEND.format(values=", ".join(f":{name}" for name, _type in _LANE_COLUMNS)),
    True: _LANE_APPEND.format(values=", ".join(f"CAST(:{n} AS {t})" for n, t in _LANE_COLUMNS)),
}
# The last event this process appended to each lane: a guess at the lane's head that saves reading
# it. A wrong guess (another process appended, or the transaction rolled back) appends nothing and
# the head is read.
_heads: dict[tuple[int, str], tuple[int, str]] = {}


def record_handout(
    db: Session | Raw,
    actor: Actor,
    *,
    project_id: int,
    task_id: int,
    item_id: int,
    lease_id: int,
    again: bool,
    now: datetime,
) -> None:
    """Record that ``actor`` was handed task ``task_id`` and shown its item (``again``: the same
    lease returned once more), in the actor's own lane, in the unit of work that leases the task."""
    details: dict[str, Any] = {"project": project_id, "task": task_id, "lease": lease_id}
    if again:
        details["again"] = True
    record_in_lane(db, actor, HANDOUT, f"item:{item_id}", details, now=now)


@dataclass(frozen=True)
class HandoutEvent:
    """What PostgreSQL's ``lh_next`` (migration 0013) needs to append a handout event to the
    actor's lane itself: the actor as stored, the event's leading fields as hashed
    (``security.audit.event_fields_json``), the lane."""

    actor: str
    fields: str
    lane: str


def handout_event(actor: Actor, now: datetime) -> HandoutEvent:
    """The handout event's fields for a server-side append (``lh_next``). The append reads the
    lane's head itself, so this process's guess at it is dropped (a stale guess would only cost
    a failed append and a read, but this saves them)."""
    email, lane = actor.email[:320], lane_of_user(actor.user_id)
    _heads.pop((actor.workspace_id, lane), None)
    return HandoutEvent(email, event_fields_json(_stamp(now), actor.user_id, email, HANDOUT), lane)


def record_in_lane(
    db: Session | Raw, actor: Actor, action: str, target: str, details: Any, *, now: datetime
) -> None:
    """Append one event to the actor's own lane (``user:<id>``), in the caller's unit of work:
    one statement (two when the lane's head must be read), and no lock shared with anyone else.

    The append names the event it follows and happens only if that event is there and its number
    is free; otherwise it changes nothing, and the head is read and the append tried again. Only
    this user's requests extend their lane, so that is rare: two of them at once (two tabs) race
    for one number (on PostgreSQL the later insert waits for the earlier transaction and then does
    nothing), or this process's guess at the head is stale.
    """
    raw = Raw.of(db)
    lane = lane_of_user(actor.user_id)
    email, target, stamp = actor.email[:320], target[:200], _stamp(now)
    params: dict[str, Any] = {
        "w": actor.workspace_id,
        "l": lane,
        "at": raw.timestamp(now),
        "uid": actor.user_id,
        "actor": email,
        "action": action,
        "target": target,
        "d": orjson.dumps(details).decode(),
    }
    key = (actor.workspace_id, lane)
    head = _heads.get(key)
    for _attempt in range(20):
        if head is None:
            last = raw.first(_LANE_HEAD, params)
            head = (int(last[0]), str(last[1])) if last else (0, GENESIS)
        seq, prev = head[0] + 1, head[1]
        digest = event_hash(prev, seq, stamp, actor.user_id, email, action, target, details, lane)
        params.update(seq=seq, pseq=seq - 1, prev=prev, hash=digest)
        if raw.execute(_APPEND[raw.is_postgres], params) == 1:
            if len(_heads) > 100_000:
                _heads.clear()
            _heads[key] = (seq, digest)
            return
        head = None
    raise Conflict("too many of your requests at once; try again")


def record_denied_read(
    db: Session | Raw, actor: Actor, target: str, route: str, status: int, *, now: datetime
) -> None:
    """A read of items or files refused to an authenticated caller (``403``/``404``), in the
    caller's lane: the refused request wrote nothing, so this is its own small unit of work. Each
    caller's own lane and the per-credential request limit (api/throttle.py) bound what a prober
    can make it write."""
    record_in_lane(db, actor, "read_denied", target, {"route": route, "status": status}, now=now)


def _chained(row: AuditEvent) -> ChainedEvent:
    return ChainedEvent(
        row.seq,
        _stamp(row.at),
        row.actor_id,
        row.actor,
        row.action,
        row.target,
        row.details,
        row.prev_hash,
        row.hash,
        row.lane,
    )


def as_dict(row: AuditEvent) -> dict[str, Any]:
    e = _chained(row)
    return {
        "lane": e.lane,
        "seq": e.seq,
        "at": e.at,
        "actor_id": e.actor_id,
        "actor": e.actor,
        "action": e.action,
        "target": e.target,
        "details": e.details,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def check_lane(lane: str) -> str:
    """A lane name as asked for (``main`` or ``user:<id>``), or a clear error."""
    if lane != MAIN and lane_user(lane) is None:
        raise Invalid(f"lane {lane!r} is not 'main' or 'user:<id>'", field="lane")
    return lane


def list_events(
    s: Session, actor: Actor, *, after: int = 0, limit: int = 200, lane: str = MAIN
) -> list[AuditEvent]:
    """One lane's events after sequence number ``after``, oldest first (managers and owners)."""
    require(actor, "audit.read")
    return list(
        s.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.workspace_id == actor.workspace_id,
                AuditEvent.lane == check_lane(lane),
                AuditEvent.seq > after,
            )
            .order_by(AuditEvent.seq)
            .limit(max(1, min(limit, 1000)))
        )
    )


def lanes(s: Session, workspace_id: int) -> list[str]:
    """The workspace's lanes in export order: ``main``, then the users' lanes by user id."""
    names = s.scalars(select(AuditEvent.lane).where(AuditEvent.workspace_id == workspace_id).distinct()).all()
    return sorted(set(names) | {MAIN}, key=lambda n: (n != MAIN, lane_user(n) or 0, n))


def iter_chain(s: Session, workspace_id: int, lane: str = MAIN, *, page: int = 5000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = list(
            s.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.workspace_id == workspace_id,
                    AuditEvent.lane == lane,
                    AuditEvent.seq > after,
                )
                .order_by(AuditEvent.seq)
                .limit(page)
            )
        )
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def iter_log(s: Session, workspace_id: int) -> Iterator[AuditEvent]:
    """Every event of the workspace, lane by lane in ``lanes`` order, each lane in ``seq`` order."""
    for lane in lanes(s, workspace_id):
        yield from iter_chain(s, workspace_id, lane)


@dataclass
class LaneCheck:
    events: int = 0
    problems: list[str] = field(default_factory=list)


def _check(rows: Iterator[AuditEvent], check: LaneCheck) -> Iterator[ChainedEvent]:
    for row in rows:
        check.events += 1
        yield _chained(row)


def verify_lanes(s: Session, workspace: str | None = None) -> dict[str, dict[str, LaneCheck]]:
    """Operator check of every lane of every workspace (or one): events and problems per lane."""
    query = select(Workspace).order_by(Workspace.id)
    if workspace:
        query = query.where(Workspace.name == workspace)
    spaces = list(s.scalars(query))
    if workspace and not spaces:
        raise NotFound(f"workspace {workspace!r} not found")
    report: dict[str, dict[str, LaneCheck]] = {}
    for ws in spaces:
        report[ws.name] = {}
        for lane in lanes(s, ws.id):
            check = report[ws.name][lane] = LaneCheck()
            check.problems = find_breaks(_check(iter_chain(s, ws.id, lane), check))
    return report


def verify(s: Session, workspace: str | None = None) -> dict[str, list[str]]:
    """Operator check of every workspace's chains (or one): problems per workspace name, each
    naming its lane."""
    return {
        name: [f"lane {lane}: {p}" for lane, check in checks.items() for p in check.problems]
        for name, checks in verify_lanes(s, workspace).items()
    }


def workspace_id_of(s: Session, name: str) -> int:
    ws = s.scalars(select(Workspace).where(Workspace.name == name)).first()
    if ws is None:
        raise NotFound(f"workspace {name!r} not found")
    return ws.id
