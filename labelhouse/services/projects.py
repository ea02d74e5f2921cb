"""Projects: create, read, change, trash; and the parsed schema cache the hot path uses."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.controls import Schema, parse_schema
from labelhouse.controls.registry import get_control
from labelhouse.controls.schema_text import Syntax, parse_schema_text
from labelhouse.core.actor import Actor
from labelhouse.core.errors import Invalid, NotFound
from labelhouse.core.ids import ProjectId
from labelhouse.core.text import BadText, clean_name
from labelhouse.formats import writers
from labelhouse.quality.policy import QualityPolicy
from labelhouse.security.permissions import require
from labelhouse.services import audit
from labelhouse.storage.rawsql import json_value
from labelhouse.storage.tables import Project

MAX_OVERLAP = 100


@dataclass(frozen=True)
class ProjectSettings:
    """What a manager may set; None leaves a value as it is."""

    name: str | None = None
    description: str | None = None
    schema: Any = None
    overlap: int | None = None
    lease_seconds: int | None = None
    gold_rate: float | None = None
    # the quality policy (labelhouse.quality.policy.QualityPolicy's fields); {} resets it
    quality: dict[str, Any] | None = None


def _name(name: str) -> str:
    """The stored form of a project name: trimmed, NFC, visible characters only (I-12)."""
    try:
        return clean_name(name.strip())
    except BadText as exc:
        raise Invalid(f"the project name is not plain text: {exc}", field="name") from None


def _validate(settings: ProjectSettings) -> None:
    if settings.name is not None and not (1 <= len(_name(settings.name)) <= 200):
        raise Invalid("a project name has 1 to 200 characters", field="name")
    if settings.overlap is not None and not (1 <= settings.overlap <= MAX_OVERLAP):
        raise Invalid(f"overlap is how many people label each task: 1 to {MAX_OVERLAP}", field="overlap")
    if settings.lease_seconds is not None and not (10 <= settings.lease_seconds <= 7 * 86400):
        raise Invalid("lease_seconds is 10 seconds to 7 days", field="lease_seconds")
    if settings.gold_rate is not None and not (0.0 <= settings.gold_rate <= 1.0):
        raise Invalid("gold_rate is a fraction from 0 to 1", field="gold_rate")


def get_project(s: Session, actor: Actor, project_id: int, action: str = "project.read") -> Project:
    require(actor, action, ProjectId(project_id))
    project = s.get(Project, project_id)
    if project is None or project.workspace_id != actor.workspace_id or project.deleted_at is not None:
        raise NotFound(f"project {project_id} not found")
    return project


def create_project(s: Session, actor: Actor, settings: ProjectSettings, *, now: datetime) -> Project:
    require(actor, "project.create")
    if settings.name is None or settings.schema is None:
        raise Invalid(
            "a project needs a name and a schema", field="name" if settings.name is None else "schema"
        )
    _validate(settings)
    schema = parse_schema(settings.schema)
    policy = QualityPolicy.parse(settings.quality)
    project = Project(
        workspace_id=actor.workspace_id,
        name=_name(settings.name),
        description=settings.description or "",
        schema=schema.to_dict(),
        overlap=policy.min_labels if policy.adaptive else settings.overlap or 1,
        quality=policy.to_dict() if settings.quality else None,
        lease_seconds=settings.lease_seconds or 900,
        gold_rate=settings.gold_rate or 0.0,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    s.add(project)
    s.flush()
    audit.record(
        s,
        actor.workspace_id,
        "project_created",
        f"project:{project.id}",
        actor=actor,
        details={"name": project.name},
        now=now,
    )
    return project


def list_projects(s: Session, actor: Actor) -> list[Project]:
    require(actor, "project.read")
    query = select(Project).where(Project.workspace_id == actor.workspace_id, Project.deleted_at.is_(None))
    if actor.projects is not None:
        query = query.where(Project.id.in_(actor.projects))
    return list(s.scalars(query.order_by(Project.id)))


def update_project(
    s: Session, actor: Actor, project_id: int, settings: ProjectSettings, *, now: datetime
) -> Project:
    project = get_project(s, actor, project_id, "project.update")
    _validate(settings)
    if settings.name is not None:
        project.name = _name(settings.name)
    if settings.description is not None:
        project.description = settings.description
    if settings.schema is not None:
        project.schema = parse_schema(settings.schema).to_dict()
    if settings.lease_seconds is not None:
        project.lease_seconds = settings.lease_seconds
    if settings.gold_rate is not None:
        project.gold_rate = settings.gold_rate
    if settings.quality is not None:
        policy = QualityPolicy.parse(settings.quality)
        project.quality = policy.to_dict() if settings.quality else None
        if policy.adaptive:
            # adaptive overlap: every task starts at min_labels; submits add more where needed
            settings = replace(settings, overlap=policy.min_labels)
    if settings.overlap is not None and settings.overlap != project.overlap:
        project.overlap = settings.overlap
        # Tasks follow the project's overlap; completion is re-derived from their counts.
        s.execute(
            text(
                "UPDATE tasks SET overlap = :o, state = CASE WHEN done >= :o THEN 'complete' ELSE 'open' END "
                "WHERE project_id = :p AND state IN ('open', 'complete') AND is_gold = :f"
            ),
            {"o": settings.overlap, "p": project.id, "f": False},
        )
    project.updated_at = now
    s.flush()
    if settings.quality is not None:
        from labelhouse.services import pauses  # it reads projects: imported when needed

        pauses.reconsider(s, actor, project, now=now)
    changed = {k: v for k, v in vars(settings).items() if v is not None and k != "schema"}
    if settings.quality is not None:
        changed["quality"] = project.quality
    if settings.schema is not None:
        changed["schema"] = "changed"
    audit.record(
        s,
        actor.workspace_id,
        "project_changed",
        f"project:{project.id}",
        actor=actor,
        details=changed,
        now=now,
    )
    return project


def delete_project(s: Session, actor: Actor, project_id: int, *, now: datetime) -> None:
    project = get_project(s, actor, project_id, "project.delete")
    project.deleted_at = now
    s.flush()
    audit.record(s, actor.workspace_id, "project_deleted", f"project:{project.id}", actor=actor, now=now)


def check_schema(actor: Actor, source: str, syntax: Syntax) -> dict[str, Any]:
    """Read a schema written as JSON or YAML and check it as ``create_project`` would, without
    saving anything: the schema editor's live check (and its YAML reader)."""
    require(actor, "project.create")
    raw = parse_schema_text(source, syntax)
    return {"schema": raw, "exports": export_formats(parse_schema(raw))}


def export_formats(schema: Schema) -> list[str]:
    """The export formats whose writer reads at least one of the schema's controls."""
    fed = {fmt for config in schema.controls for fmt in get_control(config.type).exports}
    return sorted(fed & writers().keys(), key=lambda f: (f not in ("jsonl", "csv"), f))


def stats(s: Session, actor: Actor, project_id: int) -> dict[str, Any]:
    project = get_project(s, actor, project_id, "project.stats")
    row = s.execute(
        text(
            "SELECT COUNT(*), "
            "COALESCE(SUM(CASE WHEN state = 'complete' THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN state = 'open' AND leased > 0 THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN is_gold THEN 1 ELSE 0 END), 0) "
            "FROM tasks WHERE project_id = :p AND state != 'trashed'"
        ),
        {"p": project.id},
    ).one()
    total, complete, in_progress, gold = (int(v) for v in row)
    annotators = s.execute(
        text(
            "SELECT u.email, COUNT(*), AVG(a.lead_time_s) FROM annotations a JOIN users u ON u.id = a.user_id "
            "WHERE a.project_id = :p AND a.is_latest AND a.deleted_at IS NULL "
            "GROUP BY u.email ORDER BY COUNT(*) DESC"
        ),
        {"p": project.id},
    ).all()
    regular = total - gold
    return {
        "tasks": total,
        "gold": gold,
        "complete": complete,
        "in_progress": in_progress,
        "left": regular - complete,
        "annotations": sum(int(r[1]) for r in annotators),
        "annotators": [
            {
                "annotator": r[0],
                "annotations": int(r[1]),
                "mean_seconds": None if r[2] is None else float(r[2]),
            }
            for r in annotators
        ],
    }


@dataclass(frozen=True)
class QueueProject:
    """What the queue's hot path needs of a project, read with one raw statement."""

    id: int
    gold_rate: float
    lease_seconds: int
    schema: Schema
    # why the acting annotator is paused in this project (None: not paused)
    paused: str | None = None


def queue_project_query(actor: Actor, project_id: int) -> tuple[str, dict[str, Any]]:
    """The project row ``next`` needs (the caller checks the permission), as a statement that
    ``lease_sql.with_live_leases`` joins with the caller's live leases; ``queue_project_row``
    reads its rows."""
    # whether the caller is paused here rides along in the same statement (the hot path)
    return (
        "SELECT id, gold_rate, lease_seconds, updated_at, schema, "
        "(SELECT reason FROM annotator_pauses ap WHERE ap.project_id = projects.id AND ap.user_id = :u "
        "AND ap.lifted_at IS NULL LIMIT 1) FROM projects "
        "WHERE id = :p AND workspace_id = :w AND deleted_at IS NULL",
        {"p": project_id, "w": actor.workspace_id, "u": actor.user_id},
    )


def queue_project_row(project_id: int, rows: list[tuple[Any, ...]]) -> QueueProject:
    if not rows:
        raise NotFound(f"project {project_id} not found")
    row = rows[0]
    return QueueProject(
        row[0], float(row[1]), int(row[2]), schemas.parsed(row[0], str(row[3]), row[4]), row[5]
    )


def policy_of(project: Project) -> QualityPolicy:
    return policies.parsed(project.id, str(project.updated_at), project.quality)


class _SchemaCache:
    """Parsed schemas by (project, updated_at): parsing on every submit would dominate it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, str], Schema] = {}

    def get(self, project: Project) -> Schema:
        return self.parsed(project.id, str(project.updated_at), project.schema)

    def parsed(self, project_id: int, version: str, raw: Any) -> Schema:
        # SQLite's raw driver and the ORM spell the same time differently; both keys are fine.
        key = (project_id, version)
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = parse_schema(json_value(raw))
            with self._lock:
                if len(self._cache) > 1000:
                    self._cache.clear()
                self._cache[key] = hit
        return hit


schemas = _SchemaCache()


class _PolicyCache:
    """Parsed quality policies by (project, updated_at), like the schemas: submit reads them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, str], QualityPolicy] = {}

    def parsed(self, project_id: int, version: str, raw: Any) -> QualityPolicy:
        key = (project_id, version)
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            stored = json_value(raw) if raw is not None else None
            if isinstance(stored, dict):
                # null is the default of every setting that may be null; a policy stored before
                # null was refused elsewhere (review_below, gold_pass) reads as their defaults
                stored = {k: v for k, v in stored.items() if v is not None}
            hit = QualityPolicy.parse(stored)
            with self._lock:
                if len(self._cache) > 1000:
                    self._cache.clear()
                self._cache[key] = hit
        return hit


policies = _PolicyCache()
