"""Items in (inline or as a job), items listed, items trashed, item files served."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from labelhouse.api import views
from labelhouse.api.deps import RT, CurrentActor, actor_for_request, json_response
from labelhouse.api.documented import authenticates
from labelhouse.api.models import MAX_ID, DeleteItemsIn, ImportOut, JobOut, RowId
from labelhouse.core.actor import Actor
from labelhouse.core.errors import HTTP_STATUS, Forbidden, Invalid, NotFound, TooLarge, Unauthenticated
from labelhouse.formats.base import Reader
from labelhouse.formats.registry import get_reader
from labelhouse.runtime import Runtime
from labelhouse.security import signing
from labelhouse.services import audit, remote_files
from labelhouse.services import items as svc
from labelhouse.services import jobs as job_svc
from labelhouse.services.accounts import actor_for
from labelhouse.services.clock import utcnow
from labelhouse.services.item_data import fields_of

router = APIRouter(tags=["items"])


def _sniff(head: bytes, content_type: str) -> str:
    stripped = head.lstrip()
    if stripped.startswith(b"PK\x03\x04"):
        return "images"
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl"
    if "csv" in content_type:
        return "csv"
    raise Invalid(
        "cannot tell the format of this body: send a JSON array, JSONL, a zip of images, "
        "or add ?format=jsonl|json|csv|images",
        field="format",
    )


async def _spool(request: Request, rt: Runtime) -> tuple[Path, int, bytes]:
    """Write the body to the uploads folder as it arrives; never hold a large body in memory."""
    limit = rt.settings.max_body_mb * 1024 * 1024
    path = rt.settings.upload_dir / f"{uuid.uuid4().hex}.upload"
    size = 0
    head = b""
    try:
        with path.open("wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(
                        f"the body is over {rt.settings.max_body_mb} MiB; split the file or raise LABELHOUSE_MAX_BODY_MB"
                    )
                if len(head) < 64:
                    head += chunk[: 64 - len(head)]
                fh.write(chunk)
    except BaseException:  # over the limit, or the client went away: no spooled part is left behind
        path.unlink(missing_ok=True)
        raise
    return path, size, head


def _many_fetches(reader: Reader, data: bytes) -> bool:
    """Does a small body name more files by URL than one request should fetch?"""
    if b"url" not in data:
        return False
    rows = reader.read(io.BytesIO(data))
    return remote_files.count_url_refs(rows, remote_files.INLINE_FETCHES) > remote_files.INLINE_FETCHES


@router.post(
    "/projects/{project_id}/items",
    status_code=201,
    response_model=ImportOut,
    responses={202: {"model": JobOut, "description": "a large body became a background job"}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def import_items(
    project_id: RowId,
    request: Request,
    actor: CurrentActor,
    rt: RT,
    format: str | None = Query(None, description="jsonl, json, csv or images (zip); sniffed when absent"),
) -> Response:
    """Import items: a JSON array, JSONL, CSV or a zip of images.

    Bodies up to LABELHOUSE_INLINE_IMPORT_MB are written before the response (201 with counts and
    the bad rows by line number); larger ones become a job (202) to follow at /jobs/{id}.

    A field given as `{"url": "https://..."}` is a file to fetch: only from public hosts (or
    those in LABELHOUSE_OUTBOUND_ALLOW), typed by its content (images, audio, video, point
    clouds, PDF). A body naming more than 20 such files becomes a job.
    """
    path, size, head = await _spool(request, rt)
    try:
        fmt = format or _sniff(head, request.headers.get("content-type", ""))
        reader = get_reader(fmt)
        if size <= rt.settings.inline_import_mb * 1024 * 1024:
            data = path.read_bytes()
            if not _many_fetches(reader, data):
                result = await run_in_threadpool(
                    svc.import_stream,
                    rt.db.session,
                    actor,
                    project_id,
                    reader.read(io.BytesIO(data)),
                    blobs=rt.blobs,
                    now=utcnow,
                    outbound=rt.outbound,
                    quota_mb=rt.settings.workspace_quota_mb,
                )
                return json_response(result.to_dict(), 201)
        with rt.db.session() as s:
            job = job_svc.start_import(s, actor, project_id, path, fmt, now=utcnow(), size=size)
            out = views.job(job)
        path = Path()  # the job owns the file now
        waker = getattr(request.app.state, "jobs", None)
        if waker is not None:
            waker.wake()
        return json_response(out, 202)
    finally:
        if path != Path():
            path.unlink(missing_ok=True)


@contextmanager
def _denials_recorded(rt: Runtime, actor: Actor, target: str, route: str) -> Iterator[None]:
    """A read refused to an authenticated caller (403, 404) is recorded in their audit lane."""
    try:
        yield
    except (NotFound, Forbidden) as exc:
        with rt.db.session() as s:
            audit.record_denied_read(s, actor, target, route, HTTP_STATUS[exc.code], now=utcnow())
        raise


@router.get("/projects/{project_id}/items")
def list_items(
    project_id: RowId,
    actor: CurrentActor,
    rt: RT,
    after: int = Query(0, ge=0, le=MAX_ID, description="the last item id of the previous page"),
    limit: int = Query(100, le=1000, ge=1),
) -> Response:
    """A page of the project's items with their data (the page shown is recorded in your audit lane)."""
    with _denials_recorded(rt, actor, f"project:{project_id}", "items"), rt.db.session() as s:
        rows = svc.list_items(s, actor, project_id, after=after, limit=limit, now=utcnow())
        body = [
            {
                "id": item.id,
                "task_id": task.id,
                "data": fields_of(s, item),
                "state": task.state,
                "done": task.done,
                "priority": -task.queue_rank,
                "is_gold": task.is_gold,
            }
            for item, task in rows
        ]
    return json_response(body)


@router.post("/items/delete", status_code=200)
def delete_items(body: DeleteItemsIn, actor: CurrentActor, rt: RT) -> Response:
    """Move items (and their tasks) to the trash."""
    with rt.db.session() as s:
        count = svc.delete_items(s, actor, body.ids, now=utcnow())
    return json_response({"trashed": count})


@authenticates
def _file_actor(
    request: Request,
    rt: RT,
    item_id: RowId,
    field: str,
    u: int | None = Query(None, ge=-MAX_ID, le=MAX_ID, description="signed URL: user id"),
    w: int | None = Query(None, ge=-MAX_ID, le=MAX_ID, description="signed URL: workspace id"),
    exp: int | None = Query(
        None, ge=-MAX_ID, le=MAX_ID, description="signed URL: expiry (Unix seconds, the lease's end)"
    ),
    sig: str | None = Query(None, description="signed URL: signature, as `next` handed it out"),
) -> Actor:
    """Who fetches a file: the bearer of a token, or the user a signed URL was made for (a browser
    <img> cannot send a token). A signed URL is checked for its signature and expiry, and its user
    must still be a member; the lease itself is checked again below."""
    if sig is None:
        h = request.headers
        return actor_for_request(rt, request.method, h.get("authorization", ""), h.get("cookie", ""), "")
    if u is None or w is None or exp is None or not signing.valid(rt.secret, sig, u, w, item_id, field, exp):
        raise Unauthenticated("this file link is not valid; take the task again to get a fresh one")
    if exp <= time.time():
        raise Unauthenticated("this file link has expired with its lease; take the task again")
    with rt.db.session(write=False) as s:
        return actor_for(s, w, u)


# Images, audio and video inline with their own type, anything else as an octet-stream download.
_FILE_TYPES: dict[str, Any] = {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in ("image/*", "audio/*", "video/*", "application/octet-stream")
}


@router.get("/items/{item_id}/files/{field}", responses={200: {"content": _FILE_TYPES}})
def item_file(item_id: RowId, field: str, actor: Annotated[Actor, Depends(_file_actor)], rt: RT) -> Response:
    """A binary part of an item: for reviewers and managers, or an annotator holding a live lease on it.

    Authenticate with a token, or use the signed URL that `next` hands out (valid for that user
    until the lease ends). Every view, and every refusal, is recorded in the caller's audit lane
    (who saw which file)."""
    with _denials_recorded(rt, actor, f"item:{item_id}", "file"), rt.db.session() as s:
        sha, media = svc.view_file(s, actor, item_id, field, now=utcnow())
    data = rt.blobs.get(actor.workspace_id, sha)
    return file_response(data, media, sha)


# Files shown in the browser: what the content was identified as (formats.media), never SVG.
_INLINE = ("image/", "audio/", "video/")


def file_response(data: bytes, media: str, sha: str) -> Response:
    """A stored file, as inert as a browser allows: typed as identified, never sniffed, sandboxed.

    Images, audio and video are served inline with their own type; anything else (PDF, point
    clouds, files of old imports) only as an attachment named by its hash, as octet-stream."""
    inline = media.startswith(_INLINE) and not media.startswith("image/svg")
    headers = {
        "Cache-Control": "private, max-age=300",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if not inline:
        headers["Content-Disposition"] = f'attachment; filename="{sha[:16]}"'
    return Response(data, media_type=media if inline else "application/octet-stream", headers=headers)
