"""The sub-APIs of ``Client``, one class per noun of the HTTP API; responses are plain dicts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from labelhouse.sdk._http import Content, Session
from labelhouse.sdk.errors import JobFailed

Json = dict[str, Any]
# Aliases, because a class with a ``list`` method shadows the builtin in its later annotations.
Ids = list[int]
Names = list[str]

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".zip": "images"}
_MEDIA = {
    "jsonl": "application/x-ndjson",
    "json": "application/json",
    "csv": "text/csv",
    "images": "application/zip",
}
_CHUNK = 1 << 20
_DELETE_BATCH = 10_000  # the server's limit per call


def progress_bar(total: int | None, unit: str, desc: str) -> Any:
    """A tqdm bar; imported on use so the SDK loads without it."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, desc=desc, unit_scale=unit == "B")


def _sum_imports(total: Json, part: Json, offset: int) -> None:
    for key in ("created", "duplicates", "failed"):
        total[key] += int(part.get(key, 0))
    for error in part.get("errors", []):
        if isinstance(error.get("line"), int):
            error = {**error, "line": error["line"] + offset}
        total["errors"].append(error)


class Projects:
    """Projects of the workspace: create, read, change, trash, progress."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def create(self, name: str, schema: Json, overlap: int = 1, **settings: Any) -> Json:
        """Create a project (settings: description, lease_seconds, gold_rate)."""
        body = {"name": name, "schema": schema, "overlap": overlap, **settings}
        return self._s.obj("POST", "/projects", json=body)

    def list(self) -> list[Json]:
        """All projects you can see."""
        return self._s.rows("GET", "/projects")

    def get(self, project_id: int) -> Json:
        """One project."""
        return self._s.obj("GET", f"/projects/{project_id}")

    def update(self, project_id: int, **fields: Any) -> Json:
        """Change some fields of a project (name, schema, overlap, description, lease_seconds, gold_rate)."""
        return self._s.obj("PATCH", f"/projects/{project_id}", json=fields, idempotent=True)

    def delete(self, project_id: int) -> None:
        """Move a project to the trash."""
        self._s.call("DELETE", f"/projects/{project_id}")

    def stats(self, project_id: int) -> Json:
        """Progress of a project: tasks, complete, left, annotations per annotator."""
        return self._s.obj("GET", f"/projects/{project_id}/stats")

    def quality(self, project_id: int, method: str | None = None) -> Json:
        """The quality report of every control (the same as ``client.quality.report``)."""
        params = {"method": method} if method else None
        return self._s.obj("GET", f"/projects/{project_id}/quality", params=params)


class Jobs:
    """Background jobs (large imports): read one, wait for one."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, job_id: int) -> Json:
        """The current state of a job."""
        return self._s.obj("GET", f"/jobs/{job_id}")

    def wait(
        self, job_id: int, poll: float = 0.5, timeout: float | None = None, progress: bool = False
    ) -> Json:
        """Poll a job until it ends; return it if it succeeded, raise JobFailed if not."""
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = progress_bar(None, "rows", f"job {job_id}") if progress else None
        try:
            while True:
                job = self.get(job_id)
                if bar is not None:
                    bar.unit = "rows" if job.get("kind") == "import" else "steps"  # a recompute counts steps
                    bar.total = job.get("total") or bar.total
                    bar.update(int(job.get("done") or 0) - bar.n)
                if job["state"] == "succeeded":
                    return job
                if job["state"] == "failed":
                    raise JobFailed(job)
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"job {job_id} is still {job['state']} after {timeout}s")
                time.sleep(poll)
        finally:
            if bar is not None:
                bar.close()


class Items:
    """Items of a project: import, list, trash."""

    def __init__(self, session: Session, jobs: Jobs) -> None:
        self._s = session
        self._jobs = jobs

    def import_records(
        self, project_id: int, records: Iterable[Mapping[str, Any]], batch_size: int = 5000
    ) -> Json:
        """Import records as JSONL in batches; return summed counts (error lines count from 1 over all records)."""
        total: Json = {"created": 0, "duplicates": 0, "failed": 0, "errors": []}
        rows = iter(records)
        offset = 0
        while batch := list(islice(rows, batch_size)):
            body = b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in batch)
            _sum_imports(total, self._send(project_id, body, "jsonl", progress=False), offset)
            offset += len(batch)
        return total

    def import_file(
        self, project_id: int, path: str | Path, format: str | None = None, progress: bool = False
    ) -> Json:
        """Upload a file of items (jsonl, json, csv, or a zip of images); follow the job if one is made."""
        path = Path(path)
        fmt = format or _FORMATS.get(path.suffix.lower())

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    yield chunk

        # A declared length lets the server refuse a too-large file before it is uploaded.
        length = {"Content-Length": str(path.stat().st_size)}
        return self._send(project_id, chunks, fmt, progress=progress, headers=length)

    def _send(
        self,
        project_id: int,
        body: Content,
        fmt: str | None,
        *,
        progress: bool,
        headers: Mapping[str, str] | None = None,
    ) -> Json:
        params = {"format": fmt} if fmt else None
        headers = {"Content-Type": _MEDIA.get(fmt or "", "application/octet-stream"), **(headers or {})}
        # Retrying is safe: the server skips items it already holds (they count as duplicates).
        response = self._s.request(
            "POST",
            f"/projects/{project_id}/items",
            params=params,
            content=body,
            headers=headers,
            idempotent=True,
        )
        out: Json = response.json()
        if response.status_code == 202:
            job = self._jobs.wait(int(out["id"]), progress=progress)
            result: Json = job["result"]
            return result
        return out

    def list(self, project_id: int, after: int = 0, limit: int = 100) -> list[Json]:
        """One page of items with their task state, ids greater than ``after``."""
        params = {"after": after, "limit": limit}
        return self._s.rows("GET", f"/projects/{project_id}/items", params=params)

    def delete(self, ids: Iterable[int]) -> int:
        """Move items (and their tasks) to the trash; return how many were trashed."""
        trashed = 0
        it = iter(ids)
        while batch := list(islice(it, _DELETE_BATCH)):
            trashed += int(
                self._s.obj("POST", "/items/delete", json={"ids": batch}, idempotent=True)["trashed"]
            )
        return trashed


@dataclass(frozen=True)
class Task:
    """A task leased to you: the item to label, your saved draft, and the lease to submit under."""

    id: int
    item_id: int
    project_id: int
    item: Json
    draft: Any
    lease_id: int
    lease_expires_at: datetime

    @classmethod
    def from_json(cls, body: Json) -> Task:
        """Build a task from a /next response."""
        task, lease = body["task"], body["lease"]
        return cls(
            id=int(task["id"]),
            item_id=int(task["item_id"]),
            project_id=int(task["project_id"]),
            item=task["item"],
            draft=task.get("draft"),
            lease_id=int(lease["id"]),
            lease_expires_at=datetime.fromisoformat(lease["expires_at"]),
        )


class Queue:
    """The labeling loop: lease a task, submit, release or skip it, keep drafts."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def next(self, project_id: int, prefetch: bool = False) -> Task | None:
        """Lease the next task of a project, or None when there is no work for you now."""
        # Asking again while holding a lease returns that lease, so a retry is harmless;
        # a prefetch claims one more task, so it is not retried.
        body = self._s.call(
            "POST", f"/projects/{project_id}/next", json={"prefetch": prefetch}, idempotent=not prefetch
        )
        return None if body is None else Task.from_json(body)

    def submit(
        self, task: Task, answer: Json, idempotency_key: str | None = None, lead_time_s: float | None = None
    ) -> Json:
        """Submit an answer for a leased task; retries reuse one idempotency key, so never a duplicate."""
        body = {
            "answer": answer,
            "lease_id": task.lease_id,
            "idempotency_key": idempotency_key or str(uuid.uuid4()),
            "lead_time_s": lead_time_s,
        }
        return self._s.obj("POST", f"/tasks/{task.id}/annotations", json=body, idempotent=True)

    def release(self, task: Task) -> None:
        """Give a task back to the queue (you may be handed it again)."""
        self._s.call("POST", f"/leases/{task.lease_id}/release")

    def skip(self, task: Task) -> None:
        """Give a task back and never be handed it again."""
        self._s.call("POST", f"/leases/{task.lease_id}/skip")

    def save_draft(self, task_id: int, answer: Any) -> None:
        """Save (overwrite) your draft answer for a task."""
        self._s.call("PUT", f"/tasks/{task_id}/draft", json={"answer": answer}, idempotent=True)

    def get_draft(self, task_id: int) -> Any:
        """Your draft answer for a task, or None."""
        return self._s.obj("GET", f"/tasks/{task_id}/draft")["answer"]


class Annotations:
    """Submitted annotations: read, edit (a new version), trash."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def list(self, task_id: int, all_versions: bool = False) -> list[Json]:
        """Annotations of a task (latest versions, or every version)."""
        params = {"all_versions": "true" if all_versions else "false"}
        return self._s.rows("GET", f"/tasks/{task_id}/annotations", params=params)

    def get(self, annotation_id: int) -> Json:
        """One annotation."""
        return self._s.obj("GET", f"/annotations/{annotation_id}")

    def edit(self, annotation_id: int, answer: Json, lead_time_s: float | None = None) -> Json:
        """Make a new version of an annotation; the previous one is kept."""
        # Not retried once sent: each PUT makes a version.
        body = {"answer": answer, "lead_time_s": lead_time_s}
        return self._s.obj("PUT", f"/annotations/{annotation_id}", json=body, idempotent=False)

    def delete(self, annotation_id: int) -> None:
        """Move an annotation to the trash."""
        self._s.call("DELETE", f"/annotations/{annotation_id}")


class Reviews:
    """The review queue: take the next task to review, decide on its annotations."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def next(self, project_id: int) -> Json | None:
        """Claim the next task to review (doubtful ones first; ``route`` says why), or None.
        Asking again while holding one returns it, so a retry is harmless."""
        body: Json | None = self._s.call("POST", f"/projects/{project_id}/review/next", idempotent=True)
        return body

    def accept(self, annotation_id: int, reason: str | None = None) -> Json:
        """Accept an annotation."""
        return self._decide(annotation_id, {"decision": "accept", "reason": reason})

    def reject(self, annotation_id: int, reason: str) -> Json:
        """Reject an annotation (the annotator sees the reason); its task takes another label."""
        return self._decide(annotation_id, {"decision": "reject", "reason": reason})

    def correct(self, annotation_id: int, answer: Json, reason: str | None = None) -> Json:
        """Replace an annotation's answer with the right one (a new version, by you)."""
        return self._decide(annotation_id, {"decision": "correct", "answer": answer, "reason": reason})

    def _decide(self, annotation_id: int, body: Json) -> Json:
        # A second identical call is refused (already decided), so a retry cannot double a decision.
        return self._s.obj("POST", f"/annotations/{annotation_id}/review", json=body, idempotent=False)

    def release(self, task_id: int) -> None:
        """Give a task you are reviewing back to the review queue."""
        self._s.call("POST", f"/tasks/{task_id}/review/release")

    def list(self, task_id: int) -> list[Json]:
        """The review decisions on a task (annotators: on their own annotations)."""
        return self._s.rows("GET", f"/tasks/{task_id}/reviews")


class Quality:
    """A project's quality: the report, its recompute job, and annotators paused by gold or by a
    manager."""

    def __init__(self, session: Session, jobs: Jobs | None = None) -> None:
        self._s = session
        self._jobs = jobs or Jobs(session)

    def report(self, project_id: int, method: str | None = None, stored: bool = False) -> Json:
        """Per control: consensus with confidence, reliability (estimated, gold, per team and
        week), agreement and leaderboards. ``stored=True``: the latest recompute job's result."""
        params: dict[str, Any] = {}
        if method:
            params["method"] = method
        if stored:
            params["stored"] = "true"
        return self._s.obj("GET", f"/projects/{project_id}/quality", params=params)

    def recompute(
        self,
        project_id: int,
        method: str | None = None,
        wait: bool = False,
        progress: bool = False,
        timeout: float | None = None,
    ) -> Json:
        """Start a recompute job for a large project; with ``wait=True`` follow it (a progress bar
        with ``progress=True``) and return the stored report, else return the job."""
        params = {"method": method} if method else {}
        job = self._s.obj("POST", f"/projects/{project_id}/quality/recompute", params=params)
        if not wait:
            return job
        self._jobs.wait(int(job["id"]), progress=progress, timeout=timeout)
        return self.report(project_id, stored=True)

    def pauses(self, project_id: int, lifted: bool = False) -> list[Json]:
        """Who is paused in a project and why (``lifted``: past pauses too)."""
        params = {"lifted": "true" if lifted else "false"}
        return self._s.rows("GET", f"/projects/{project_id}/pauses", params=params)

    def pause(self, project_id: int, user_id: int, reason: str) -> Json:
        """Pause an annotator in a project; they are shown the reason."""
        body = {"user_id": user_id, "reason": reason}
        return self._s.obj("POST", f"/projects/{project_id}/pauses", json=body)

    def unpause(self, project_id: int, user_id: int) -> None:
        """Unpause an annotator (a no-op when they are not paused)."""
        self._s.call("DELETE", f"/projects/{project_id}/pauses/{user_id}", idempotent=True)


class Members:
    """Members of the workspace and their roles."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def list(self) -> list[Json]:
        """All members of the workspace."""
        return self._s.rows("GET", "/members")

    def add(
        self,
        email: str,
        role: str,
        password: str | None = None,
        projects: Ids | None = None,
        skills: Names | None = None,
        team: str | None = None,
    ) -> Json:
        """Add a member with a role, optionally limited to some projects, in a vendor ``team``."""
        body = {
            "email": email,
            "role": role,
            "password": password,
            "projects": projects,
            "skills": skills,
            "team": team,
        }
        return self._s.obj("POST", "/members", json=body)

    def update(
        self,
        user_id: int,
        role: str | None = None,
        projects: Ids | None = None,
        all_projects: bool = False,
        skills: Names | None = None,
        team: str | None = None,
    ) -> Json:
        """Change a member's role, projects (``all_projects=True`` lifts the limit), skills or
        vendor team (``team=""`` removes it)."""
        body = {
            "role": role,
            "projects": projects,
            "all_projects": all_projects,
            "skills": skills,
            "team": team,
        }
        return self._s.obj("PATCH", f"/members/{user_id}", json=body, idempotent=True)

    def remove(self, user_id: int) -> None:
        """Remove a member from the workspace."""
        self._s.call("DELETE", f"/members/{user_id}")


class Tokens:
    """Your API tokens."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def create(self, name: str = "api") -> Json:
        """Make a token; its secret is in ``["token"]`` and is shown only this once."""
        return self._s.obj("POST", "/tokens", json={"name": name})

    def list(self) -> list[Json]:
        """Your tokens (without their secrets)."""
        return self._s.rows("GET", "/tokens")

    def revoke(self, token_id: int) -> None:
        """Revoke a token."""
        self._s.call("DELETE", f"/tokens/{token_id}")


class Trash:
    """Trashed projects, items and annotations: list, restore, purge."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def list(self) -> list[Json]:
        """What is in the trash: ``{"kind", "id", "ref", "deleted_at"}`` rows."""
        return self._s.rows("GET", "/trash")

    def restore(self, kind: str, row_id: int) -> None:
        """Take one thing (kind: project, item, annotation) out of the trash."""
        self._s.call("POST", f"/trash/{kind}/{row_id}/restore", idempotent=True)

    def purge(self, kind: str | None = None, row_id: int | None = None) -> int:
        """Delete for good one trashed thing, or (no arguments) everything in the trash; return the count."""
        if (kind is None) != (row_id is None):
            raise ValueError("purge takes both kind and row_id (one thing) or neither (everything)")
        path = "/trash" if kind is None else f"/trash/{kind}/{row_id}"
        return int(self._s.obj("DELETE", path)["purged"])
