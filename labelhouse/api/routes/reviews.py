"""Review: the review queue, decisions on annotations, and annotator pauses."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from labelhouse.api.deps import RT, CurrentActor, json_response
from labelhouse.api.models import PauseIn, PauseOut, ReviewIn, ReviewNextOut, ReviewOut, RowId
from labelhouse.api.routes.queue import sign_file_urls
from labelhouse.services import pauses, reviews
from labelhouse.services.clock import utcnow

router = APIRouter(tags=["review"])


@router.post(
    "/projects/{project_id}/review/next",
    response_model=ReviewNextOut,
    responses={204: {"description": "nothing to review now"}},
)
def next_review(project_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    """Claim the next complete task to review, doubtful ones first (see ``route``); asking again
    while holding one returns it. The claim lasts the project's lease time."""
    with rt.db.session() as s:
        found = reviews.next_review(s, actor, project_id, now=utcnow())
    if found is None:
        return Response(status_code=204)
    sign_file_urls(rt, actor, found.task["item_id"], found.task["item"], found.expires_at)
    return json_response(
        {
            "task": found.task,
            "annotations": found.annotations,
            "reviews": found.reviews,
            "route": found.route,
            "claim": {"expires_at": found.expires_at},
        }
    )


@router.post("/annotations/{annotation_id}/review", status_code=201, response_model=ReviewOut)
def review_annotation(annotation_id: RowId, body: ReviewIn, actor: CurrentActor, rt: RT) -> Response:
    """Accept, reject (with a reason) or correct (with the right answer) an annotation."""
    with rt.db.session() as s:
        row = reviews.decide(
            s, actor, annotation_id, body.decision, reason=body.reason, answer=body.answer, now=utcnow()
        )
        out = reviews.review_view(row)
    return json_response(out, 201)


@router.post("/tasks/{task_id}/review/release", status_code=204)
def release_review(task_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    """Give a task you are reviewing back to the review queue."""
    with rt.db.session() as s:
        reviews.release(s, actor, task_id, now=utcnow())
    return Response(status_code=204)


@router.get("/tasks/{task_id}/reviews", response_model=list[ReviewOut])
def list_reviews(task_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    """The review decisions on a task (annotators: those on their own annotations)."""
    with rt.db.session(write=False) as s:
        return json_response(reviews.list_reviews(s, actor, task_id))


@router.get("/projects/{project_id}/pauses", response_model=list[PauseOut])
def list_pauses(project_id: RowId, actor: CurrentActor, rt: RT, lifted: bool = False) -> Response:
    """Who is paused in the project and why (``lifted=true``: past pauses too)."""
    with rt.db.session(write=False) as s:
        return json_response(pauses.list_pauses(s, actor, project_id, lifted=lifted))


@router.post("/projects/{project_id}/pauses", status_code=201, response_model=PauseOut)
def pause_annotator(project_id: RowId, body: PauseIn, actor: CurrentActor, rt: RT) -> Response:
    """Pause an annotator in the project; their next ``next`` is refused with your reason."""
    with rt.db.session() as s:
        out = pauses.pause(s, actor, project_id, body.user_id, body.reason, now=utcnow())
    return json_response(out, 201)


@router.delete("/projects/{project_id}/pauses/{user_id}", status_code=204)
def unpause_annotator(project_id: RowId, user_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    """Unpause an annotator; gold answers from before no longer count towards a new pause."""
    with rt.db.session() as s:
        pauses.unpause(s, actor, project_id, user_id, now=utcnow())
    return Response(status_code=204)
