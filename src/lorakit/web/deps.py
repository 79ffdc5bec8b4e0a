"""What routes get injected: the workspace, the job runner, confined paths."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from lorakit.jobs.runner import JobRunner
from lorakit.web.errors import ApiError
from lorakit.workspace import Workspace


def get_workspace(request: Request) -> Workspace:
    return request.app.state.workspace


def get_runner(request: Request) -> JobRunner:
    return request.app.state.runner


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]


def existing(workspace: Workspace, rel_path: str, *, field: str = "path", internal_ok: bool = False) -> Path:
    """The confined path, which must exist (a 404 in the API's error shape otherwise).

    lorakit's own files (the database, settings, trash, jobs, ``.lorakit`` folders) are refused with a 403
    unless ``internal_ok`` (listing a folder): even opening the database in the server process would drop
    SQLite's locks.
    """
    path = workspace.user_path(rel_path) if not internal_ok else workspace.resolve_inside(rel_path)
    if not path.exists():
        raise ApiError("not_found", f"Nothing is at {rel_path!r} in the workspace.", "Check the name.", field=field)
    if not path.is_dir() and not path.is_file():  # a fifo would hang the reader, a device is nobody's model
        raise ApiError(
            "invalid", f"{rel_path!r} is a fifo, device or socket.", "Pick a regular file or folder.", field=field
        )
    return path
