"""Jobs and the trash."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.responses import Response

from labelhouse.api import views
from labelhouse.api.deps import RT, CurrentActor, json_response
from labelhouse.api.models import DeleteWorkspaceIn, JobOut, RowId, WorkspaceDeletedOut
from labelhouse.services import audit, jobs, trash, workspaces
from labelhouse.services.clock import utcnow

router = APIRouter()


@router.get("/jobs/{job_id}", tags=["jobs"], response_model=JobOut)
def get_job(job_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        return json_response(views.job(jobs.get_job(s, actor, job_id)))


@router.get("/trash", tags=["trash"])
def list_trash(actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        return json_response(trash.list_trash(s, actor))


@router.post("/trash/{kind}/{row_id}/restore", tags=["trash"], status_code=204)
def restore(kind: str, row_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        trash.restore(s, actor, kind, row_id, now=utcnow())
    return Response(status_code=204)


@router.delete("/trash/{kind}/{row_id}", tags=["trash"])
def purge_one(kind: str, row_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        return json_response({"purged": trash.purge(s, actor, kind, row_id, now=utcnow())})


@router.delete("/trash", tags=["trash"])
def purge_all(actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        return json_response({"purged": trash.purge(s, actor, now=utcnow())})


@router.get("/audit", tags=["audit"])
def audit_log(
    actor: CurrentActor,
    rt: RT,
    after: int = Query(0, ge=0, le=2**63 - 1, description="the last seq of the previous page"),
    limit: int = Query(200, ge=1, le=1000),
    lane: str = Query(
        "main",
        max_length=64,
        description="which chain: `main` (the workspace's events) or `user:<id>` (tasks handed out to that user)",
    ),
) -> Response:
    """The workspace's audit events of one lane after sequence number ``after`` (managers and owners)."""
    with rt.db.session(write=False) as s:
        return json_response(
            [audit.as_dict(e) for e in audit.list_events(s, actor, after=after, limit=limit, lane=lane)]
        )


@router.post("/workspace/delete", tags=["workspace"], response_model=WorkspaceDeletedOut)
def delete_workspace(body: DeleteWorkspaceIn, actor: CurrentActor, rt: RT) -> Response:
    """Delete the caller's workspace for good (owners only): every row and file goes and the
    workspace's data key is destroyed, so its data in any backup is unreadable too
    (crypto-shredding). ``confirm`` must be the workspace's name. The audit chain stays, ending
    with the deletion, who asked and why. Every token and session of the workspace stops working."""
    with rt.db.session() as s:
        done = workspaces.delete_own_workspace(
            s, actor, confirm=body.confirm, reason=body.reason, blobs=rt.blobs, now=utcnow()
        )
    return json_response(
        {"workspace_id": done.workspace_id, "rows": done.rows, "key_destroyed": done.had_key}
    )
