"""Members of the workspace."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from starlette.responses import Response

from labelhouse.api.deps import RT, CurrentActor, json_response
from labelhouse.api.models import MemberIn, MemberOut, MemberPatch, RowId
from labelhouse.services import members
from labelhouse.services.clock import utcnow

router = APIRouter(tags=["members"])


@router.get("/members", response_model=list[MemberOut])
def list_members(actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        return json_response([asdict(m) for m in members.list_members(s, actor)])


@router.post("/members", status_code=201, response_model=MemberOut)
def add_member(body: MemberIn, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        m = members.add_member(
            s,
            actor,
            body.email,
            body.role,
            password=body.password,
            projects=body.projects,
            skills=body.skills,
            team=body.team,
            now=utcnow(),
        )
    return json_response(asdict(m), 201)


@router.patch("/members/{user_id}", response_model=MemberOut)
def update_member(user_id: RowId, body: MemberPatch, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        m = members.update_member(
            s,
            actor,
            user_id,
            role=body.role,
            projects=body.projects,
            all_projects=body.all_projects,
            skills=body.skills,
            team=body.team,
            now=utcnow(),
        )
    return json_response(asdict(m))


@router.delete("/members/{user_id}", status_code=204)
def remove_member(user_id: RowId, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        members.remove_member(s, actor, user_id, now=utcnow())
    return Response(status_code=204)
