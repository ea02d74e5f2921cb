"""Request bodies and response shapes of the public API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from labelhouse.core.text import clean_name


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Bounds on what a caller may send (I-02): long enough for any real use, short enough that no
# field costs the server more than a moment (a password is hashed with argon2).
Email = Annotated[str, Field(max_length=320)]
Password = Annotated[str, Field(max_length=1024)]
# Names are NFC-normalized and free of invisible and control characters (I-12, core/text.py).
Name = Annotated[str, Field(max_length=200), AfterValidator(clean_name)]
Text = Annotated[str, Field(max_length=100_000)]
# Row ids are 64-bit integers in both databases: a larger one is refused here (422) rather than
# overflowing the driver (a 500 on SQLite and PostgreSQL alike, found by schemathesis).
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]
RowId = Annotated[int, Path(ge=-MAX_ID, le=MAX_ID, description="a row id")]


def _no_nul(value: dict[str, Any]) -> dict[str, Any]:
    # PostgreSQL's jsonb cannot hold U+0000 (a 500 there, found by schemathesis); refusing it on
    # both databases keeps them alike. orjson writes it as the escape, so one search finds it.
    try:
        text = orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise ValueError("numbers in an answer must fit in 64 bits") from None
    if b"\\u0000" in text:
        raise ValueError("text in an answer may not contain the NUL character (\\u0000); remove it")
    return value


# A free-form answer object (keyed by control name), as stored.
Answer = Annotated[dict[str, Any], AfterValidator(_no_nul)]


class LoginIn(_Body):
    email: Email
    password: Password
    workspace: Name | None = None


class SwitchIn(_Body):
    workspace_id: Id


class WorkspaceOut(BaseModel):
    id: int
    name: str
    role: str


class SessionOut(BaseModel):
    user_id: int
    email: str
    workspace_id: int
    role: str
    projects: list[Id] | None
    csrf_token: str = Field(description="send as X-CSRF-Token on every unsafe request of this session")
    workspaces: list[WorkspaceOut]


class PasswordIn(_Body):
    current_password: Password
    new_password: Password


class PasswordChangedOut(BaseModel):
    sessions_revoked: int = Field(description="other browser sessions of the user, now ended")
    tokens_revoked: int = Field(description="API tokens of the user, now revoked (make new ones)")


class SsoOut(BaseModel):
    enabled: bool
    name: str = Field(description='the provider\'s name, for "Sign in with <name>"')
    login_url: str | None = Field(description="where the browser goes to sign in (add ?next=/ui/...)")


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
    quality: dict[str, Any] | None = Field(
        default=None, description="the quality policy: review routing, auto-pause, adaptive overlap"
    )


class SchemaTextIn(_Body):
    text: str = Field(max_length=1_000_000, description="the schema, as JSON or YAML text")
    syntax: Literal["json", "yaml"] = "yaml"


class SchemaCheckOut(BaseModel):
    schema_: dict[str, Any] = Field(alias="schema", description="the schema the text holds, as JSON")
    exports: list[str] = Field(description="the export formats that read its controls")


class ProjectPatch(_Body):
    name: Name | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    overlap: int | None = None
    description: Text | None = None
    lease_seconds: int | None = None
    gold_rate: float | None = None
    quality: dict[str, Any] | None = Field(default=None, description="the quality policy; {} resets it")


class ProjectOut(BaseModel):
    id: int
    name: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    overlap: int
    lease_seconds: int
    gold_rate: float
    quality: dict[str, Any] = Field(description="the quality policy in effect, every setting filled in")
    exports: list[str] = Field(description="the export formats that read this project's controls")
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
    answer: Answer
    lease_id: Id
    idempotency_key: Name
    lead_time_s: float | None = Field(default=None, description="seconds the annotator spent")


class EditIn(_Body):
    answer: Answer
    lead_time_s: float | None = None


class DraftIn(_Body):
    # An answer in progress is still an answer: an object keyed by control name (a null one
    # reached the NOT NULL column and answered 500).
    answer: Answer


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


class ReviewIn(_Body):
    decision: str = Field(description="accept, reject or correct")
    reason: str | None = Field(default=None, description="why (required to reject); the annotator sees it")
    answer: dict[str, Any] | None = Field(default=None, description="the right answer (correct only)")


class ReviewOut(BaseModel):
    id: int
    task_id: int
    annotation_id: int
    reviewer_id: int | None
    decision: str = Field(description="accepted, rejected or corrected")
    reason: str | None
    correction_id: int | None = Field(description="the reviewer's new version (corrected)")
    created_at: datetime


class ReviewAnnotationOut(BaseModel):
    id: int
    task_id: int
    annotator_id: int
    annotator: str
    version: int
    answer: dict[str, Any]
    lead_time_s: float | None
    created_at: datetime
    review: str | None = Field(description="null (undecided), accepted, rejected or corrected")


class ReviewTaskOut(BaseModel):
    id: int
    item_id: int
    project_id: int
    item: dict[str, Any]
    consensus: dict[str, Any] | None
    confidence: float | None
    labels: int


class ReviewClaimOut(BaseModel):
    expires_at: datetime


class ReviewNextOut(BaseModel):
    task: ReviewTaskOut
    annotations: list[ReviewAnnotationOut]
    reviews: list[ReviewOut]
    route: str = Field(description="failed_gold, low_confidence or routine: why the task came now")
    claim: ReviewClaimOut


class PauseIn(_Body):
    user_id: Id
    reason: Text


class PauseOut(BaseModel):
    id: int
    project_id: int
    user_id: int
    annotator: str
    reason: str
    details: dict[str, Any] | None
    automatic: bool
    paused_at: datetime
    lifted_at: datetime | None


class MemberIn(_Body):
    email: Email
    role: Name
    password: Password | None = None
    projects: list[Id] | None = Field(
        default=None, description="limit to these projects (null: all)", max_length=10000
    )
    skills: list[Name] | None = Field(default=None, max_length=1000)
    team: str | None = Field(default=None, max_length=100, description="vendor team (quality per team)")


class MemberPatch(_Body):
    role: Name | None = None
    projects: list[Id] | None = Field(default=None, max_length=10000)
    all_projects: bool = False
    skills: list[Name] | None = Field(default=None, max_length=1000)
    team: str | None = Field(default=None, max_length=100, description='vendor team; "" removes it')


class MemberOut(BaseModel):
    user_id: int
    email: str
    role: str
    projects: list[Id] | None
    skills: list[str]
    team: str | None = None


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
    ids: list[Id] = Field(max_length=10000)


class DeleteWorkspaceIn(_Body):
    confirm: Annotated[str, Field(max_length=200, description="the workspace's name, typed again")]
    reason: Annotated[str, Field(min_length=1, max_length=1000, description="kept in the audit chain")]


class WorkspaceDeletedOut(BaseModel):
    workspace_id: int
    rows: int
    key_destroyed: bool


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody
