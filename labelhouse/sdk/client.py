"""``Client``: the entry point of the SDK, one object per server and token."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, overload

import httpx

from labelhouse.sdk._http import Session
from labelhouse.sdk._resources import (
    Annotations,
    Items,
    Jobs,
    Json,
    Members,
    Projects,
    Quality,
    Queue,
    Reviews,
    Task,
    Tokens,
    Trash,
    progress_bar,
)
from labelhouse.sdk.errors import Unavailable

DEFAULT_URL = "http://127.0.0.1:8400"


class Client:
    """Speaks the labelhouse HTTP API (/api/v1) with a bearer token.

    ``url`` and ``token`` default to ``LABELHOUSE_URL`` and ``LABELHOUSE_TOKEN``. Errors are the
    classes of ``labelhouse.sdk.errors``; an unreachable server raises ``Unavailable`` after
    ``retries`` retries.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30,
        retries: int = 3,
        http: httpx.Client | None = None,
    ) -> None:
        url = url or os.environ.get("LABELHOUSE_URL") or DEFAULT_URL
        token = token if token is not None else os.environ.get("LABELHOUSE_TOKEN")
        self._session = Session(url, token, timeout=timeout, retries=retries, http=http)
        self.projects = Projects(self._session)
        self.jobs = Jobs(self._session)
        self.items = Items(self._session, self.jobs)
        self.queue = Queue(self._session)
        self.annotations = Annotations(self._session)
        self.members = Members(self._session)
        self.tokens = Tokens(self._session)
        self.trash = Trash(self._session)
        self.reviews = Reviews(self._session)
        self.quality = Quality(self._session, self.jobs)

    @classmethod
    def login(
        cls, url: str, email: str, password: str, workspace: str | None = None, **options: Any
    ) -> Client:
        """Log in with email and password; return a client holding the new token."""
        # No token yet (bandit B106 checked): the login below sets it.
        client = cls(url, token="", **options)  # nosec B106
        body = {"email": email, "password": password, "workspace": workspace}
        try:
            issued = client._session.obj("POST", "/auth/login", json=body)
        except BaseException:
            client.close()
            raise
        client._session.token = issued["token"]
        return client

    @property
    def url(self) -> str:
        """The server's root URL."""
        return self._session.url

    def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http``)."""
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    def health(self) -> Json:
        """The server's health: ``{"status": "ok", "database": ...}``."""
        return self._session.obj("GET", "/health")

    def me(self) -> Json:
        """Who the token belongs to: user, workspace, role, projects, skills."""
        return self._session.obj("GET", "/me")

    def delete_workspace(self, confirm: str, reason: str) -> Json:
        """Delete this token's workspace for good (owners only; ``confirm`` is its name): rows,
        files and data key are destroyed, and this client's token stops working."""
        return self._session.obj("POST", "/workspace/delete", json={"confirm": confirm, "reason": reason})

    # The labeling loop is used most, so it is also on the client itself.

    def next(self, project_id: int, prefetch: bool = False) -> Task | None:
        """Lease the next task of a project, or None when there is no work for you now."""
        return self.queue.next(project_id, prefetch=prefetch)

    def submit(
        self, task: Task, answer: Json, idempotency_key: str | None = None, lead_time_s: float | None = None
    ) -> Json:
        """Submit an answer for a leased task; retries reuse one idempotency key, so never a duplicate."""
        return self.queue.submit(task, answer, idempotency_key=idempotency_key, lead_time_s=lead_time_s)

    def release(self, task: Task) -> None:
        """Give a task back to the queue (you may be handed it again)."""
        self.queue.release(task)

    def skip(self, task: Task) -> None:
        """Give a task back and never be handed it again."""
        self.queue.skip(task)

    def save_draft(self, task_id: int, answer: Any) -> None:
        """Save (overwrite) your draft answer for a task."""
        self.queue.save_draft(task_id, answer)

    def get_draft(self, task_id: int) -> Any:
        """Your draft answer for a task, or None."""
        return self.queue.get_draft(task_id)

    @overload
    def export(
        self, project_id: int, format: str = ..., path: None = None, progress: bool = ...
    ) -> Iterator[bytes]: ...

    @overload
    def export(
        self, project_id: int, format: str = ..., *, path: str | Path, progress: bool = ...
    ) -> Path: ...

    @overload
    def export(self, project_id: int, format: str, path: str | Path, progress: bool = ...) -> Path: ...

    def export(
        self, project_id: int, format: str = "jsonl", path: str | Path | None = None, progress: bool = False
    ) -> Iterator[bytes] | Path:
        """Stream a project's export (jsonl, csv, coco, sft, dpo) to ``path``, or yield its bytes."""
        response = self._session.request(
            "GET", f"/projects/{project_id}/export", params={"format": format}, stream=True
        )
        if path is None:
            return _chunks(response, progress)
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        try:
            with partial.open("wb") as fh:
                for chunk in _chunks(response, progress):
                    fh.write(chunk)
            partial.replace(target)  # a broken download never leaves a file that looks complete
        finally:
            partial.unlink(missing_ok=True)
        return target

    def export_records(self, project_id: int) -> Iterator[Json]:
        """Yield a project's JSONL export as records: task_id, item_id, item, annotations."""
        response = self._session.request(
            "GET", f"/projects/{project_id}/export", params={"format": "jsonl"}, stream=True
        )
        return _records(response)


def _chunks(response: httpx.Response, progress: bool) -> Iterator[bytes]:
    """The body of an open streamed response, closed at the end, with an optional byte counter."""
    length = response.headers.get("content-length")
    bar = progress_bar(int(length) if length else None, "B", "export") if progress else None
    try:
        for chunk in response.iter_bytes():
            if bar is not None:
                bar.update(len(chunk))
            yield chunk
    except httpx.TransportError as exc:
        raise _broken(response, exc) from exc
    finally:
        response.close()
        if bar is not None:
            bar.close()


def _records(response: httpx.Response) -> Iterator[Json]:
    """The JSONL lines of an open streamed response as dicts, closed at the end."""
    try:
        for line in response.iter_lines():
            if line.strip():
                yield json.loads(line)
    except httpx.TransportError as exc:
        raise _broken(response, exc) from exc
    finally:
        response.close()


def _broken(response: httpx.Response, exc: httpx.TransportError) -> Unavailable:
    # Not retried: the caller has already consumed part of the body.
    return Unavailable(
        f"the export from {response.request.url} broke off after {response.num_bytes_downloaded} bytes "
        f"({type(exc).__name__}: {exc}); start it again"
    )
