"""The Python SDK: ``Client`` speaks the public HTTP API and nothing else of the server.

    from labelhouse.sdk import Client

    with Client("http://127.0.0.1:8400", token="...") as lh:
        project = lh.projects.create("sentiment", schema)
        lh.items.import_records(project["id"], [{"text": "great"}])
        while (task := lh.next(project["id"])) is not None:
            lh.submit(task, {"label": "pos"})

Errors are the classes below, rebuilt from the server's ``{"error": {...}}`` body.
"""

from __future__ import annotations

from labelhouse.sdk._resources import Task
from labelhouse.sdk.client import Client
from labelhouse.sdk.errors import (
    Conflict,
    Forbidden,
    Invalid,
    JobFailed,
    LabelhouseError,
    NotFound,
    TooLarge,
    TooMany,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "Client",
    "Conflict",
    "Forbidden",
    "Invalid",
    "JobFailed",
    "LabelhouseError",
    "NotFound",
    "Task",
    "TooLarge",
    "TooMany",
    "Unauthenticated",
    "Unavailable",
]
