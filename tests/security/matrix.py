"""The isolation matrix: every API route x every actor kind -> the status the server must answer.

This file is the contract; ``test_isolation_matrix.py`` drives the real app with it, and a route
in ``app.routes`` without a row here fails the suite. Statuses:

* 2xx: allowed (the call runs; its side effects are reset before the next call).
* 401: no credentials.
* 403: a member of the workspace whose role is too low. The role is checked before the object is
  looked up, so a 403 names no object and says nothing about whether it exists.
* 404: another workspace's object, a project the vendor is not assigned to, or an object of the
  workspace the caller has no need to know (somebody else's token, job or annotation). A 404 must
  be byte-identical to the answer for an id that never existed (the test compares them).

Path parameters and bodies name fixtures of workspace A with ``$name`` (see ``World`` in the test):
``$project`` (P, labeled, with image items), ``$task`` (a task the annotator holds a live lease on),
``$task_done`` (a task with the annotator's submitted annotation), ``$lease``, ``$annotation``,
``$item`` (the leased task's item, which has an image file), ``$job`` (an import job the owner
started), ``$token`` (an extra API token of the owner), ``$member`` (an annotator of A, not one of
the actors), ``$trashed`` (an item in A's trash), ``$trashed_project`` and ``$trashed_annotation``
(in A's trash too), ``$a_user`` (A's annotator). ``CROSS`` also names B's objects: ``$b_project``,
``$b_item`` (not leased), ``$b_task`` and ``$b_lease`` (leased to B's annotator), ``$b_member``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTORS = ("anon", "owner", "manager", "reviewer", "annotator", "vendor", "b_owner", "b_annotator")
"""anon: no token. owner..annotator: members of A. vendor: an annotator of A limited to project P2
(not P). b_owner, b_annotator: members of workspace B only."""

# Paths outside the matrix: the API's own description, served to anyone.
EXCLUDED_PATHS = ("/api/v1/openapi.json", "/api/v1/docs")


@dataclass(frozen=True)
class Row:
    case: str  # the ATTACKS.md case the row stands for
    expect: dict[str, int]
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> $fixture or literal
    body: Any = None  # JSON body with $fixtures, or "$zip" for a zip of images
    public: bool = False  # answers without a token (A-01 allowlist)


def _row(
    case: str, spec: str, *, params: dict[str, str] | None = None, body: Any = None, public: bool = False
) -> Row:
    """``spec`` lists one status per actor, in ``ACTORS`` order."""
    codes = [int(x) for x in spec.split()]
    assert len(codes) == len(ACTORS), spec
    return Row(case, dict(zip(ACTORS, codes, strict=True)), params or {}, body, public)


CHOICE = {"label": "pos"}

#                                                         anon own mgr rev ann ven  bO  bA
MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/api/v1/health"): _row("A-01", "200 200 200 200 200 200 200 200", public=True),
    ("POST", "/api/v1/bootstrap"): _row(
        "A-05",
        "401 401 401 401 401 401 401 401",
        body={"token": "not-the-token", "email": "late@x.test", "password": "pw-123456789"},
        public=True,
    ),
    ("POST", "/api/v1/auth/login"): _row(
        "A-02",
        "401 401 401 401 401 401 401 401",
        body={"email": "owner@acme.test", "password": "wrong-password"},
        public=True,
    ),
    # Another e-mail than the row above: each row's failures count against its own account limit.
    ("POST", "/api/v1/auth/session"): _row(
        "A-02",
        "401 401 401 401 401 401 401 401",
        body={"email": "browser@acme.test", "password": "wrong-password"},
        public=True,
    ),
    ("GET", "/api/v1/auth/session"): _row("A-04", "401 200 200 200 200 200 200 200"),
    # Switching is for cookie sessions; a bearer token is told to log in again instead.
    ("POST", "/api/v1/auth/session/workspace"): _row(
        "A-04", "401 422 422 422 422 422 422 422", body={"workspace_id": 1}
    ),
    ("DELETE", "/api/v1/auth/session"): _row("A-04", "401 204 204 204 204 204 204 204"),
    # The matrix's people have no password (token-only accounts): nothing to change, nothing revoked.
    ("POST", "/api/v1/auth/password"): _row(
        "A-04",
        "401 422 422 422 422 422 422 422",
        body={"current_password": "wrong-password", "new_password": "another long password"},
    ),
    # Single sign-on is not configured in the matrix's world: its routes answer 404 to everyone
    # (tests/security/test_sso.py drives them against a fake provider).
    ("GET", "/api/v1/auth/oidc"): _row("A-01", "200 200 200 200 200 200 200 200", public=True),
    ("GET", "/api/v1/auth/oidc/login"): _row("A-09", "404 404 404 404 404 404 404 404", public=True),
    ("GET", "/api/v1/auth/oidc/callback"): _row("A-09", "404 404 404 404 404 404 404 404", public=True),
    ("GET", "/api/v1/me"): _row("A-01", "401 200 200 200 200 200 200 200"),
    ("POST", "/api/v1/tokens"): _row("A-07", "401 201 201 201 201 201 201 201", body={"name": "matrix"}),
    ("GET", "/api/v1/tokens"): _row("A-07", "401 200 200 200 200 200 200 200"),
    # Somebody else's token is not yours to know about, in the workspace or outside it.
    ("DELETE", "/api/v1/tokens/{token_id}"): _row(
        "A-07", "401 204 404 404 404 404 404 404", params={"token_id": "$token"}
    ),
    ("GET", "/api/v1/members"): _row("Z-01", "401 200 200 403 403 403 200 403"),
    ("POST", "/api/v1/members"): _row(
        "Z-05", "401 201 201 403 403 403 201 403", body={"email": "new@x.test", "role": "annotator"}
    ),
    ("PATCH", "/api/v1/members/{user_id}"): _row(
        "Z-01", "401 200 200 403 403 403 404 403", params={"user_id": "$member"}, body={"skills": ["m"]}
    ),
    ("DELETE", "/api/v1/members/{user_id}"): _row(
        "Z-01", "401 204 204 403 403 403 404 403", params={"user_id": "$member"}
    ),
    ("POST", "/api/v1/projects"): _row(
        "Z-05",
        "401 201 201 403 403 403 201 403",
        body={
            "name": "new",
            "schema": {"controls": [{"name": "l", "type": "choices", "over": "text", "options": ["a", "b"]}]},
        },
    ),
    ("POST", "/api/v1/schemas/check"): _row(
        "Z-05",
        "401 200 200 403 403 403 200 403",
        body={"text": "controls: [{name: l, type: choices, over: text, options: [a, b]}]"},
    ),
    ("GET", "/api/v1/projects"): _row("Z-02", "401 200 200 200 200 200 200 200"),
    ("GET", "/api/v1/projects/{project_id}"): _row("Z-01", "401 200 200 200 200 404 404 404"),
    ("PATCH", "/api/v1/projects/{project_id}"): _row(
        "Z-01", "401 200 200 403 403 404 404 403", body={"description": "changed"}
    ),
    ("DELETE", "/api/v1/projects/{project_id}"): _row("Z-01", "401 204 204 403 403 404 404 403"),
    ("GET", "/api/v1/projects/{project_id}/stats"): _row("Z-01", "401 200 200 200 403 404 404 403"),
    ("GET", "/api/v1/projects/{project_id}/quality"): _row("Z-01", "401 200 200 200 403 404 404 403"),
    # Who may read the report may recompute it (a job that stores the same report).
    ("POST", "/api/v1/projects/{project_id}/quality/recompute"): _row(
        "Z-01", "401 202 202 202 403 404 404 403"
    ),
    ("GET", "/api/v1/projects/{project_id}/export"): _row("Z-06", "401 200 200 403 403 404 404 403"),
    ("POST", "/api/v1/projects/{project_id}/items"): _row(
        "Z-01", "401 201 201 403 403 404 404 403", body="$zip"
    ),
    ("GET", "/api/v1/projects/{project_id}/items"): _row("Z-01", "401 200 200 200 403 404 404 403"),
    # The item is looked up before the role check, so a foreign annotator gets 404, not 403.
    ("POST", "/api/v1/items/delete"): _row(
        "Z-01", "401 200 200 403 403 404 404 404", body={"ids": ["$item"]}
    ),
    # Need to know: reviewers and up, or the annotator holding a live lease on the item's task.
    ("GET", "/api/v1/items/{item_id}/files/{field}"): _row(
        "Z-03", "401 200 200 200 200 404 404 404", params={"item_id": "$item", "field": "image"}
    ),
    ("POST", "/api/v1/projects/{project_id}/next"): _row("Z-03", "401 200 200 200 200 404 404 404"),
    # A lease of the workspace held by somebody else: 403 (it is the caller's workspace's queue).
    ("POST", "/api/v1/leases/{lease_id}/release"): _row("Z-03", "401 403 403 403 204 404 404 404"),
    ("POST", "/api/v1/leases/{lease_id}/skip"): _row("Z-03", "401 403 403 403 204 404 404 404"),
    ("PUT", "/api/v1/tasks/{task_id}/draft"): _row(
        "Z-03", "401 204 204 204 204 404 404 404", body={"answer": {"label": "neg"}}
    ),
    ("GET", "/api/v1/tasks/{task_id}/draft"): _row("Z-03", "401 200 200 200 200 404 404 404"),
    ("POST", "/api/v1/tasks/{task_id}/annotations"): _row(
        "Z-03",
        "401 403 403 403 201 404 404 404",
        body={"answer": CHOICE, "lease_id": "$lease", "idempotency_key": "matrix"},
    ),
    ("GET", "/api/v1/tasks/{task_id}/annotations"): _row(
        "Z-01", "401 200 200 200 200 404 404 404", params={"task_id": "$task_done"}
    ),
    ("GET", "/api/v1/annotations/{annotation_id}"): _row("Z-01", "401 200 200 200 200 404 404 404"),
    ("PUT", "/api/v1/annotations/{annotation_id}"): _row(
        "Z-01", "401 201 201 201 201 404 404 404", body={"answer": {"label": "neg"}}
    ),
    # The annotator's own annotation: found, but only managers trash annotations.
    ("DELETE", "/api/v1/annotations/{annotation_id}"): _row("Z-01", "401 204 204 403 403 404 404 404"),
    # Review: reviewers and up; the owner reviews the annotator's submitted task.
    ("POST", "/api/v1/projects/{project_id}/review/next"): _row("Z-01", "401 200 200 200 403 404 404 403"),
    # The role is checked before the annotation is looked up (the vendor is a member of A).
    ("POST", "/api/v1/annotations/{annotation_id}/review"): _row(
        "Z-01", "401 201 201 201 403 403 404 403", body={"decision": "accept"}
    ),
    # Nobody holds a review claim in the world: a reviewer's release is a conflict, not a change.
    ("POST", "/api/v1/tasks/{task_id}/review/release"): _row("Z-01", "401 409 409 409 403 403 404 403"),
    ("GET", "/api/v1/tasks/{task_id}/reviews"): _row(
        "Z-01", "401 200 200 200 200 404 404 404", params={"task_id": "$task_done"}
    ),
    ("GET", "/api/v1/projects/{project_id}/pauses"): _row("Z-01", "401 200 200 200 403 404 404 403"),
    ("POST", "/api/v1/projects/{project_id}/pauses"): _row(
        "Z-01", "401 201 201 403 403 404 404 403", body={"user_id": "$member", "reason": "matrix"}
    ),
    ("DELETE", "/api/v1/projects/{project_id}/pauses/{user_id}"): _row(
        "Z-01", "401 204 204 403 403 404 404 403"
    ),
    # A job is for the one who started it, and for managers (Z-06).
    ("GET", "/api/v1/jobs/{job_id}"): _row("Z-06", "401 200 200 404 404 404 404 404"),
    ("GET", "/api/v1/trash"): _row("Z-02", "401 200 200 403 403 403 200 403"),
    ("POST", "/api/v1/trash/{kind}/{row_id}/restore"): _row(
        "Z-01", "401 204 204 403 403 403 404 403", params={"kind": "item", "row_id": "$trashed"}
    ),
    ("DELETE", "/api/v1/trash/{kind}/{row_id}"): _row(
        "Z-01", "401 200 200 403 403 403 404 403", params={"kind": "item", "row_id": "$trashed"}
    ),
    ("DELETE", "/api/v1/trash"): _row("Z-05", "401 200 200 403 403 403 200 403"),
    ("GET", "/api/v1/audit"): _row("Z-05", "401 200 200 403 403 403 200 403"),
    # Owners only; the wrong name makes it a refusal that changes nothing (the deletion itself is
    # test_K_05_the_owner_deletes_the_workspace_through_the_api). B's owner answers for B.
    ("POST", "/api/v1/workspace/delete"): _row(
        "K-05", "401 422 403 403 403 403 422 403", body={"confirm": "not-the-name", "reason": "matrix"}
    ),
}

# Default fixture for a path parameter, when a row does not name one.
DEFAULT_PARAMS = {
    "project_id": "$project",
    "task_id": "$task",
    "lease_id": "$lease",
    "annotation_id": "$annotation",
    "job_id": "$job",
    "token_id": "$token",
    "user_id": "$member",
    "item_id": "$item",
}


@dataclass(frozen=True)
class Cross:
    """One call of workspace B (or a B actor) that mixes B's own objects with an id of A's, in
    the path, the body or the query: B's half is real and allowed, A's half must answer exactly
    as an id that never existed (``expect`` either way). ``$b_...`` fixtures are B's objects."""

    case: str
    actor: str
    method: str
    path: str
    expect: int
    body: Any = None


CROSS: tuple[Cross, ...] = (
    # A's member paused or unpaused in B's own project
    Cross(
        "Z-01",
        "b_owner",
        "POST",
        "/api/v1/projects/$b_project/pauses",
        404,
        {"user_id": "$member", "reason": "x"},
    ),
    Cross("Z-01", "b_owner", "DELETE", "/api/v1/projects/$b_project/pauses/$member", 404),
    # A's project given to B's member (a vendor limit naming a foreign project)
    Cross("Z-01", "b_owner", "PATCH", "/api/v1/members/$b_member", 422, {"projects": ["$project"]}),
    Cross(
        "Z-01",
        "b_owner",
        "POST",
        "/api/v1/members",
        422,
        {"email": "cross@globex.test", "role": "annotator", "projects": ["$project"]},
    ),
    # B's item with A's in one call: refused as a whole, B's item is not trashed either
    Cross("Z-01", "b_owner", "POST", "/api/v1/items/delete", 404, {"ids": ["$b_item", "$item"]}),
    # B's live lease used to submit to A's task, and A's lease to submit to B's task
    Cross(
        "Z-01",
        "b_annotator",
        "POST",
        "/api/v1/tasks/$task/annotations",
        422,
        {"answer": CHOICE, "lease_id": "$b_lease", "idempotency_key": "cross"},
    ),
    Cross(
        "Z-01",
        "b_annotator",
        "POST",
        "/api/v1/tasks/$b_task/annotations",
        404,
        {"answer": CHOICE, "lease_id": "$lease", "idempotency_key": "cross"},
    ),
    # the trash's other kinds (the matrix's rows use an item)
    Cross("Z-01", "b_owner", "POST", "/api/v1/trash/project/$trashed_project/restore", 404),
    Cross("Z-01", "b_owner", "DELETE", "/api/v1/trash/project/$trashed_project", 404),
    Cross("Z-01", "b_owner", "POST", "/api/v1/trash/annotation/$trashed_annotation/restore", 404),
    Cross("Z-01", "b_owner", "DELETE", "/api/v1/trash/annotation/$trashed_annotation", 404),
    # an id in the query: A's annotator's audit lane, read in B, is an empty lane
    Cross("Z-01", "b_owner", "GET", "/api/v1/audit?lane=user:$a_user", 200),
)
