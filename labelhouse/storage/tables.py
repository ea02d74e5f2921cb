"""The tables. Every row but users, install state and single sign-on bookkeeping belongs to exactly
one workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL, JSON text on SQLite.
Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Pk = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: Json, Any: Json}


def _ws() -> Mapped[int]:
    return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=False)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # set when the workspace was deleted: its rows are gone, its data key destroyed; the row and
    # its audit chain stay (a tombstone), and its id is never reused
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # null: every project; a list of project ids: only those (outside vendors' annotators)
    projects: Mapped[Any] = mapped_column(Json, nullable=True)
    skills: Mapped[Any] = mapped_column(Json, default=list)
    # the vendor team an annotator works for (null: none); the quality report groups by it
    team: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InstallState(Base):
    """Install-wide key/value facts: the hashed one-time bootstrap token, the schema version."""

    __tablename__ = "install_state"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_ws", "workspace_id", "deleted_at"),)
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    schema: Mapped[Any] = mapped_column(Json)
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    lease_seconds: Mapped[int] = mapped_column(Integer, default=900)
    gold_rate: Mapped[float] = mapped_column(Float, default=0.0)
    # the quality policy (quality/policy.py): review threshold, auto-pause, adaptive overlap
    quality: Mapped[Any] = mapped_column(Json, nullable=True)
    # labels adaptive overlap has added beyond min_labels (checked against its budget)
    extra_labels: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("project_id", "content_hash"),)
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[Any] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # the queue's scan: open tasks of a project, gold apart, best priority first
        Index("ix_tasks_queue", "project_id", "state", "is_gold", "queue_rank", "id"),
        Index("ix_tasks_item", "item_id"),
        # exports and listings page through a project's tasks in id order
        Index("ix_tasks_project", "project_id", "id"),
        # the review queue: complete tasks not yet reviewed, least confident first
        Index("ix_tasks_review", "project_id", "state", "review_state", "confidence", "id"),
    )
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    # "open" while it takes leases; "complete" when done == overlap; "trashed" when deleted
    state: Mapped[str] = mapped_column(String(16), default="open")
    # minus the task's priority, so that one ascending index serves "highest priority first"
    queue_rank: Mapped[int] = mapped_column(Integer, default=0)
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    done: Mapped[int] = mapped_column(Integer, default=0)
    leased: Mapped[int] = mapped_column(Integer, default=0)
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    gold_answer: Mapped[Any] = mapped_column(Json, nullable=True)
    skills: Mapped[Any] = mapped_column(Json, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # {control: {value, confidence, n[, posterior]}}, stored when the task reaches its label count
    consensus: Mapped[Any] = mapped_column(Json, nullable=True)
    # the task's posterior confidence: the weakest control's (review routing, adaptive overlap)
    confidence: Mapped[float | None] = mapped_column(Float)
    # null: not reviewed | claimed (by reviewer_id until review_expires_at) | reviewed
    review_state: Mapped[str | None] = mapped_column(String(16))
    reviewer_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    review_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Lease(Base):
    """An assignment: one task held by one annotator. One row per (task, user), ever."""

    __tablename__ = "leases"
    __table_args__ = (
        UniqueConstraint("task_id", "user_id"),
        Index("ix_leases_user", "user_id", "project_id", "state"),
        Index("ix_leases_expiry", "project_id", "state", "expires_at"),
    )
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # active | submitted | skipped | released | expired
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Annotation(Base):
    """One version of one annotator's answer to one task; a new version is a new row."""

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id", "idempotency_key"),
        Index("ix_annotations_task", "task_id", "is_latest"),
        Index("ix_annotations_project", "project_id", "task_id"),
    )
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lease_id: Mapped[int | None] = mapped_column(ForeignKey("leases.id", ondelete="SET NULL"))
    # the first version's id; every version of one answer shares it
    root_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    answer: Mapped[Any] = mapped_column(Json)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    lead_time_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the review decision on this version: null | accepted | rejected | corrected (a reviewer's version)
    review: Mapped[str | None] = mapped_column(String(16))
    # what this version added to its annotator's record in annotator_estimates (services.credits):
    # expected right answers and answers counted; in the record while the version counts
    credit_correct: Mapped[float | None] = mapped_column(Float)
    credit_counted: Mapped[float | None] = mapped_column(Float)


class Review(Base):
    """A reviewer's decision on one annotation version: accepted, rejected (with a reason), or
    corrected (``correction_id`` is the reviewer's new version)."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_task", "task_id", "id"),)
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    correction_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AnnotatorPause(Base):
    """An annotator paused in a project (by gold scores or by a manager) until ``lifted_at``."""

    __tablename__ = "annotator_pauses"
    __table_args__ = (Index("ix_pauses_user", "project_id", "user_id", "lifted_at"),)
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[Any] = mapped_column(Json, nullable=True)
    paused_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    paused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AnnotatorEstimate(Base):
    """An annotator's running accuracy evidence in a project, read by adaptive overlap's posterior:
    ``correct`` is the expected number of right answers among ``counted`` single-choice answers on
    completed tasks (each answer scored by the other answers of its task)."""

    __tablename__ = "annotator_estimates"
    workspace_id: Mapped[int] = _ws()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    correct: Mapped[float] = mapped_column(Float, default=0.0)
    counted: Mapped[float] = mapped_column(Float, default=0.0)


class Draft(Base):
    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    answer: Mapped[Any] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state", "state", "id"),)
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))
    # queued | running | succeeded | failed
    state: Mapped[str] = mapped_column(String(16), default="queued")
    params: Mapped[Any] = mapped_column(Json)
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[Any] = mapped_column(Json, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Blob(Base):
    """A binary part of an item (an image) in the blob store, by content hash."""

    __tablename__ = "blobs"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # the file's name in the store: a keyed hash of its content under the workspace's key
    # (security/sealing.py); the plain SHA-256 for files stored before encryption at rest
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """An append-only, hash-chained record of who did or saw what, per workspace and lane: the
    workspace's own events in lane 'main', each annotator's task handouts in 'user:<id>'."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "lane", "seq", name="uq_audit_events_workspace_id_lane_seq"),
    )
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    lane: Mapped[str] = mapped_column(String(64), server_default="main", default="main")
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[Any] = mapped_column(Json, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OidcLink(Base):
    """A single sign-on identity: the provider's (issuer, subject) pair is this user, for good."""

    __tablename__ = "oidc_links"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)
    id: Mapped[int] = mapped_column(Pk, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OidcRequest(Base):
    """A single sign-on that has started and not yet come back: used once, gone after 10 minutes.

    Keyed by a SHA-256 of its ``state``; holds the nonce the ID token must carry, the PKCE
    verifier, and where to send the browser afterwards."""

    __tablename__ = "oidc_requests"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100))
    verifier: Mapped[str] = mapped_column(String(100))
    next_path: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
