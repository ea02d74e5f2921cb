"""Typed ids: a task id cannot be passed where a project id is expected."""

from __future__ import annotations

from typing import NewType

WorkspaceId = NewType("WorkspaceId", int)
UserId = NewType("UserId", int)
ProjectId = NewType("ProjectId", int)
ItemId = NewType("ItemId", int)
TaskId = NewType("TaskId", int)
LeaseId = NewType("LeaseId", int)
AnnotationId = NewType("AnnotationId", int)
JobId = NewType("JobId", int)
TokenId = NewType("TokenId", int)
