"""Projects, their progress, and the export download."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from labelhouse.api import views
from labelhouse.api.deps import RT, CurrentActor, json_response
from labelhouse.api.models import (
    JobOut,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    RowId,
    SchemaCheckOut,
    SchemaTextIn,
)
from labelhouse.services import exports, quality, quality_jobs
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


@router.post("/schemas/check", response_model=SchemaCheckOut)
def check_schema(body: SchemaTextIn, actor: CurrentActor) -> Response:
    """Read a schema written as JSON or YAML (safe loading: no tags, no aliases) and check it
    as creating a project would, saving nothing. Errors name the line, or the control's field."""
    return json_response(svc.check_schema(actor, body.text, body.syntax))


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
    stored: bool = Query(False, description="the latest recompute job's result instead of a fresh report"),
) -> Response:
    """Per control: consensus with confidence per task, annotator reliability (estimated, from gold
    with 95% intervals, per team and per week), agreement (Cohen's and Fleiss' kappa,
    Krippendorff's alpha, per label and per annotator pair), and a leaderboard for preference and
    ranking controls."""
    with rt.db.session(write=False) as s:
        return json_response(quality.project_quality(s, actor, project_id, method=method, stored=stored))


@router.post(
    "/projects/{project_id}/quality/recompute",
    tags=["quality"],
    status_code=202,
    response_model=JobOut,
)
def recompute_quality(
    project_id: RowId,
    actor: CurrentActor,
    rt: RT,
    request: Request,
    method: str | None = Query(None, description="truth-inference method (default: the documented default)"),
) -> Response:
    """Queue a job that recomputes the quality report (any size of project) with progress; follow
    it at /jobs/{id}. When it succeeds, GET /projects/{id}/quality?stored=true returns its result,
    and so does the plain report of a project too large to compute in a request."""
    with rt.db.session() as s:
        out = views.job(quality_jobs.start_recompute(s, actor, project_id, method=method, now=utcnow()))
    waker = getattr(request.app.state, "jobs", None)
    if waker is not None:
        waker.wake()
    return json_response(out, 202)
