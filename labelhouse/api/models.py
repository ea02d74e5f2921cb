"""Request bodies and response shapes of the public API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Bounds on what a caller may send (I-02): long enough for any real use, short enough that no
# field costs the server more than a moment (a password is hashed with argon2).
Email = Annotated[str, Field(max_length=320)]
Password = Annotated[str, Field(max_length=1024)]
Name = Annotated[str, Field(max_length=200)]
Text = Annotated[str, Field(max_length=100_000)]


class LoginIn(_Body):
    email: Email
    password: Password
    workspace: Name | None = None


class BootstrapIn(_Body):
    token: Name
    email: Email
    password: Password
    workspace: Name = "default"


class TokenIn(_Body):
    name: str = Field(default="api", max_length=200)


class TokenOut(BaseModel):
    id: int
    token: str = Field(description="shown once; store it now")
    expires_at: datetime | None


class ProjectIn(_Body):
    name: Name
    schema_: dict[str, Any] = Field(alias="schema")
    overlap: int = 1
    description: Text = ""
    lease_seconds: int = 900
    gold_rate: float = 0.0


class ProjectPatch(_Body):
    name: Name | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    overlap: int | None = None
    description: Text | None = None
    lease_seconds: int | None = None
    gold_rate: float | None = None


class ProjectOut(BaseModel):
    id: int
    name: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    overlap: int
    lease_seconds: int
    gold_rate: float
    created_at: datetime
    updated_at: datetime


class NextIn(_Body):
    prefetch: bool = Field(default=False, description="claim one more task while holding one (UI prefetch)")


class TaskOut(BaseModel):
    id: int
    item_id: int
    project_id: int
    item: dict[str, Any]
    draft: Any = None


class LeaseOut(BaseModel):
    id: int
    expires_at: datetime


class NextOut(BaseModel):
    task: TaskOut
    lease: LeaseOut


class SubmitIn(_Body):
    answer: dict[str, Any]
    lease_id: int
    idempotency_key: Name
    lead_time_s: float | None = Field(default=None, description="seconds the annotator spent")


class EditIn(_Body):
    answer: dict[str, Any]
    lead_time_s: float | None = None


class DraftIn(_Body):
    answer: Any


class AnnotationOut(BaseModel):
    id: int
    task_id: int
    project_id: int
    annotator_id: int
    root_id: int | None
    version: int
    is_latest: bool
    answer: dict[str, Any]
    lead_time_s: float | None
    created_at: datetime


class MemberIn(_Body):
    email: Email
    role: Name
    password: Password | None = None
    projects: list[int] | None = Field(
        default=None, description="limit to these projects (null: all)", max_length=10000
    )
    skills: list[Name] | None = Field(default=None, max_length=1000)


class MemberPatch(_Body):
    role: Name | None = None
    projects: list[int] | None = Field(default=None, max_length=10000)
    all_projects: bool = False
    skills: list[Name] | None = Field(default=None, max_length=1000)


class MemberOut(BaseModel):
    user_id: int
    email: str
    role: str
    projects: list[int] | None
    skills: list[str]


class ImportOut(BaseModel):
    created: int
    duplicates: int
    failed: int
    errors: list[dict[str, Any]]


class JobOut(BaseModel):
    id: int
    kind: str
    state: str
    project_id: int | None
    done: int
    total: int | None
    result: Any = None
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


class DeleteItemsIn(_Body):
    ids: list[int] = Field(max_length=10000)


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody
