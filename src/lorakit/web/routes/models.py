"""Models: the library (what is in models/), what a file is (detect), and downloads (a job)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Query

from lorakit.fileio import open_inside
from lorakit.jobs.params import DownloadParams
from lorakit.models import library as _library  # noqa: F401 - an ImportError here leaves these routes out
from lorakit.web.deps import RunnerDep, WorkspaceDep, existing
from lorakit.web.errors import ApiError
from lorakit.workspace import workspace_relative

router = APIRouter(prefix="/api/models", tags=["models"])


# The download job's parameters, declared once in lorakit.jobs.params.
DownloadBody = DownloadParams


def _relative(workspace, data: Any) -> Any:
    return workspace_relative(data, workspace.root)


@router.get("", summary="The model library: every model under models/, with what it is")
def library(
    workspace: WorkspaceDep,
    folder: str | None = Query(None, pattern="^(checkpoints|vae|loras|embeddings|taggers)$"),
) -> list[dict[str, Any]]:
    from lorakit.models.library import ModelLibrary

    library = ModelLibrary(workspace.user_path("models"), inside=workspace.root)
    return [_relative(workspace, e.to_dict()) for e in library.entries(folder)]


@router.get("/detect", summary="What a model file is: family, kind, precision, LoRA rank")
def detect(workspace: WorkspaceDep, path: str = Query(..., max_length=4096)) -> dict[str, Any]:
    from lorakit.models.library import ModelLibrary

    target = existing(workspace, path)
    workspace.user_path(path)  # not the database (opening it here would drop its locks), settings, journals
    if not target.is_dir():
        os.close(open_inside(target, workspace.root))  # a regular file inside: not a fifo, device or link out
    library = ModelLibrary(workspace.user_path("models"), inside=workspace.root)
    return _relative(workspace, library.detect(target).to_dict())


@router.post("/download", status_code=201, summary="Download a model from a link (a job)")
def download(body: DownloadBody, workspace: WorkspaceDep, runner: RunnerDep):
    if body.to:
        workspace.user_path(body.to)  # not into trash/, jobs/ or a .lorakit folder
    if body.name is not None and (body.name in ("", ".", "..") or any(c in body.name for c in "/\\\0")):
        raise ApiError("invalid", f"{body.name[:100]!r} is not a file name.", "Use a plain name.", field="name")
    if body.name is not None and (body.to or "").strip("/"):
        workspace.user_path(f"{body.to.strip('/')}/{body.name}")
    params = body.model_dump(exclude_none=True)
    return runner.submit("download", params, title=f"Download {body.link[:80]}")
