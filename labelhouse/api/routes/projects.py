"""Projects, their progress, and the export download."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.responses import Response, StreamingResponse

from labelhouse.api import views
from labelhouse.api.deps import RT, CurrentActor, json_response
from labelhouse.api.models import ProjectIn, ProjectOut, ProjectPatch, RowId
from labelhouse.services import exports, quality
from labelhouse.services import projects as svc
from labelhouse.services.clock import utcnow

router = APIRouter(tags=["projects"])


def _settings(body: ProjectIn | ProjectPatch) -> svc.ProjectSettings:
    return svc.ProjectSettings(
        name=body.name,
        description=body.description,
        schema=body.schema_,
        overlap=body.overlap,
        lease_seconds=body.lease_seconds,
        gold_rate=body.gold_rate,
        quality=body.quality,
    )


@router.post("/projects", status_code=201, response_model=ProjectOut)
def create_project(body: ProjectIn, actor: CurrentActor, rt: RT) -> Response:
    settings = _settings(body)
    with rt.db.session() as s:
        project = svc.create_project(s, actor, settings, now=utcnow())
        out = views.project(project)
    return json_response(out, 201)


@router.get("/projects", response_model=list[ProjectOut])
def list_projects(actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        return json_response([views.project(p) for p in svc.list_projects(s, actor)])


@router.get("/projects/{project_id}", response_model=ProjectOut)
def get_project(project_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        return json_response(views.project(svc.get_project(s, actor, project_id)))


@router.patch("/projects/{project_id}", response_model=ProjectOut)
def update_project(project_id: RowId, body: ProjectPatch, actor: CurrentActor, rt: RT) -> Response:
    settings = _settings(body)
    with rt.db.session() as s:
        out = views.project(svc.update_project(s, actor, project_id, settings, now=utcnow()))
    return json_response(out)


@router.delete("/projects/{project_id}", status_code=204)
def delete_project(project_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    """Move the project to the trash (restore with POST /trash/project/{id}/restore)."""
    with rt.db.session() as s:
        svc.delete_project(s, actor, project_id, now=utcnow())
    return Response(status_code=204)


@router.get("/projects/{project_id}/stats")
def project_stats(project_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        return json_response(svc.stats(s, actor, project_id))


@router.get(
    "/projects/{project_id}/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}, "application/json": {}}}},
)
def export(
    project_id: RowId,
    actor: CurrentActor,
    rt: RT,
    format: str = Query("jsonl", description="jsonl, csv, coco, sft or dpo"),
) -> StreamingResponse:
    """Stream the project's tasks and their latest annotations in one format."""
    with rt.db.session() as s:
        plan = exports.plan_export(s, actor, project_id, format, now=utcnow())
    filename = f"project-{plan.project_id}{plan.writer.extension}"
    return StreamingResponse(
        exports.stream(lambda: rt.db.session(write=False), plan),
        media_type=plan.writer.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/projects/{project_id}/quality", tags=["quality"])
def project_quality(
    project_id: RowId,
    actor: CurrentActor,
    rt: RT,
    method: str | None = Query(None, description="truth-inference method (default: the documented default)"),
) -> Response:
    """Consensus with confidence per task, annotator reliability (estimated and from gold, with 95%
    intervals) and Krippendorff's alpha, for each single-choice control."""
    with rt.db.session(write=False) as s:
        return json_response(quality.project_quality(s, actor, project_id, method=method))
