"""Health, bootstrap, login, who am I, API tokens."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from labelhouse.api.deps import RT, CurrentActor, json_response
from labelhouse.api.models import BootstrapIn, LoginIn, TokenIn, TokenOut
from labelhouse.core.errors import Unauthenticated
from labelhouse.services import accounts
from labelhouse.services.clock import aware, utcnow

router = APIRouter()


@router.get("/health", tags=["system"])
def health(rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        s.connection().exec_driver_sql("SELECT 1")
    return json_response({"status": "ok", "database": rt.db.dialect})


@router.post("/bootstrap", tags=["accounts"], status_code=201, response_model=TokenOut)
def bootstrap(body: BootstrapIn, rt: RT) -> Response:
    """Create the first owner with the one-time token `serve` printed on a fresh install."""
    with rt.db.session() as s:
        issued = accounts.bootstrap(
            s, body.token, email=body.email, password=body.password, workspace=body.workspace, now=utcnow()
        )
    return json_response({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at}, 201)


@router.post("/auth/login", tags=["accounts"], response_model=TokenOut)
def login(body: LoginIn, rt: RT) -> Response:
    try:
        with rt.db.session() as s:
            issued = accounts.login(s, body.email, body.password, workspace=body.workspace, now=utcnow())
    except Unauthenticated:
        with rt.db.session() as s:
            accounts.record_failed_login(s, body.email, now=utcnow())
        raise
    return json_response({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at})


@router.get("/me", tags=["accounts"])
def me(actor: CurrentActor) -> Response:
    return json_response(
        {
            "user_id": actor.user_id,
            "email": actor.email,
            "workspace_id": actor.workspace_id,
            "role": actor.role.value,
            "projects": None if actor.projects is None else sorted(actor.projects),
            "skills": sorted(actor.skills),
        }
    )


@router.post("/tokens", tags=["accounts"], status_code=201, response_model=TokenOut)
def create_token(body: TokenIn, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        issued = accounts.create_token(s, actor, body.name, now=utcnow())
    return json_response({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at}, 201)


@router.get("/tokens", tags=["accounts"])
def list_tokens(actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session(write=False) as s:
        rows = accounts.list_tokens(s, actor)
        body = [
            {
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": aware(t.created_at),
                "expires_at": aware(t.expires_at) if t.expires_at else None,
            }
            for t in rows
        ]
    return json_response(body)


@router.delete("/tokens/{token_id}", tags=["accounts"], status_code=204)
def revoke_token(token_id: int, actor: CurrentActor, rt: RT) -> Response:
    with rt.db.session() as s:
        accounts.revoke_token(s, actor, token_id, now=utcnow())
    return Response(status_code=204)
