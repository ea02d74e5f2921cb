"""The labeling loop: next, release, skip, drafts, submit, versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from labelhouse.api import views
from labelhouse.api.deps import RT, CurrentActor, hot_call, json_response
from labelhouse.api.models import AnnotationOut, DraftIn, EditIn, NextIn, NextOut, RowId, SubmitIn
from labelhouse.core.actor import Actor
from labelhouse.runtime import Runtime
from labelhouse.security import signing
from labelhouse.services import annotations as ann
from labelhouse.services import queue
from labelhouse.services.clock import utcnow

router = APIRouter(tags=["queue"])

# The labeling loop's endpoints are ``async`` and call the services inline: each is a few
# hundred microseconds of SQL, and on SQLite writes are serialized anyway. Running them on the
# event loop avoids a thread hand-off per request and the GIL and lock convoys of a 40-thread
# pool, which halved throughput under 32 concurrent annotators (bench/loop.py).


def next_response(rt: Runtime, actor: Actor, project_id: int, prefetch: bool) -> Response:
    """The ``next`` call itself; the route below and the fast lane (api/fastlane.py) share it."""
    # ``next`` is this unit of work's only service: on PostgreSQL its last statement may carry
    # the COMMIT (Raw.last)
    with rt.db.raw(last_commits=True) as db:
        handout = queue.next_task(
            db, actor, project_id, now=utcnow(), prefetch=prefetch, skip_locked=rt.skip_locked
        )
    if handout is None:
        return Response(status_code=204)
    sign_file_urls(rt, actor, handout.item_id, handout.item, handout.expires_at)
    return json_response(
        {
            "task": {
                "id": handout.task_id,
                "item_id": handout.item_id,
                "project_id": handout.project_id,
                "item": handout.item,
                "draft": handout.draft,
            },
            "lease": {"id": handout.lease_id, "expires_at": handout.expires_at},
        }
    )


def submit_response(rt: Runtime, actor: Actor, task_id: int, body: SubmitIn) -> Response:
    """The ``submit`` call itself, shared like ``next_response``."""
    with rt.db.raw() as db:
        done = ann.submit(
            db,
            actor,
            task_id,
            body.answer,
            lease_id=body.lease_id,
            idempotency_key=body.idempotency_key,
            lead_time_s=body.lead_time_s,
            now=utcnow(),
            lock_rows=rt.skip_locked,
        )
        out = views.annotation(done.annotation)
    return json_response(out, 201 if done.created else 200)


@router.post(
    "/projects/{project_id}/next",
    response_model=NextOut,
    responses={204: {"description": "no work for this annotator now"}},
)
async def next_task(project_id: RowId, actor: CurrentActor, rt: RT, body: NextIn | None = None) -> Response:
    """Lease the next task. Asking again while holding a live lease returns the same lease."""
    return await hot_call(rt, next_response, rt, actor, project_id, bool(body and body.prefetch), first=True)


@router.post("/leases/{lease_id}/release", status_code=204)
async def release(lease_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    """Give the task back to the queue (you may be handed it again later)."""
    with rt.db.session() as s:
        queue.end_lease(s, actor, lease_id, "released", now=utcnow())
    return Response(status_code=204)


@router.post("/leases/{lease_id}/skip", status_code=204)
async def skip(lease_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    """Give the task back and never be handed it again."""
    with rt.db.session() as s:
        queue.end_lease(s, actor, lease_id, "skipped", now=utcnow())
    return Response(status_code=204)


@router.put("/tasks/{task_id}/draft", status_code=204)
async def save_draft(task_id: RowId, body: DraftIn, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        queue.save_draft(s, actor, task_id, body.answer, now=utcnow())
    return Response(status_code=204)


@router.get("/tasks/{task_id}/draft")
def get_draft(task_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        return json_response({"answer": queue.get_draft(s, actor, task_id)})


@router.post(
    "/tasks/{task_id}/annotations",
    status_code=201,
    response_model=AnnotationOut,
    responses={200: {"model": AnnotationOut, "description": "a retry: the first result, unchanged"}},
)
async def submit(task_id: RowId, body: SubmitIn, actor: CurrentActor, rt: RT) -> Response:
    """Submit an answer under a lease. A retry with the same idempotency_key returns the first result."""
    return await hot_call(rt, submit_response, rt, actor, task_id, body)


@router.get("/tasks/{task_id}/annotations", response_model=list[AnnotationOut])
def list_annotations(task_id: RowId, actor: CurrentActor, rt: RT, all_versions: bool = False) -> Response:
    with rt.db.session(write=False) as s:
        return json_response(
            [views.annotation(a) for a in ann.list_for_task(s, actor, task_id, all_versions=all_versions)]
        )


@router.get("/annotations/{annotation_id}", response_model=AnnotationOut)
def get_annotation(annotation_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        return json_response(views.annotation(ann.get_annotation(s, actor, annotation_id)))


@router.put("/annotations/{annotation_id}", status_code=201, response_model=AnnotationOut)
def edit_annotation(annotation_id: RowId, body: EditIn, actor: CurrentActor, rt: RT) -> Response:
    """Make a new version; the previous one is kept."""
    with rt.db.session() as s:
        out = views.annotation(
            ann.edit(s, actor, annotation_id, body.answer, now=utcnow(), lead_time_s=body.lead_time_s)
        )
    return json_response(out, 201)


@router.delete("/annotations/{annotation_id}", status_code=204)
def delete_annotation(annotation_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        ann.delete(s, actor, annotation_id, now=utcnow())
    return Response(status_code=204)


def sign_file_urls(
    rt: Runtime, actor: Actor, item_id: int, item: dict[str, Any], expires_at: datetime
) -> None:
    """Give each file URL of a handed-out item a signature for this user until the lease ends, so
    that a browser can load it without a token; it stops working with the lease (checked on use)."""
    exp = int(expires_at.timestamp())
    for field, value in item.items():
        if isinstance(value, dict) and isinstance(value.get("url"), str):
            sig = signing.sign(rt.secret, actor.user_id, actor.workspace_id, item_id, field, exp)
            value["url"] += f"?u={actor.user_id}&w={actor.workspace_id}&exp={exp}&sig={sig}"
