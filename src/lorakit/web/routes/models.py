"""Models: the library (what is in models/), what a file is (detect), and downloads (a job)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from lorakit.jobs.params import DownloadParams
from lorakit.models import library as _library  # noqa: F401 - an ImportError here leaves these routes out
from lorakit.web.deps import RunnerDep, WorkspaceDep, existing

router = APIRouter(prefix="/api/models", tags=["models"])


# The download job's parameters, declared once in lorakit.jobs.params.
DownloadBody = DownloadParams


def _relative(workspace, data: Any) -> Any:
    root = str(workspace.root) + "/"
    if isinstance(data, dict):
        return {k: _relative(workspace, v) for k, v in data.items()}
    if isinstance(data, list):
        return [_relative(workspace, v) for v in data]
    return data.removeprefix(root) if isinstance(data, str) else data


@router.get("", summary="The model library: every model under models/, with what it is")
def library(
    workspace: WorkspaceDep,
    folder: str | None = Query(None, pattern="^(checkpoints|vae|loras|embeddings|taggers)$"),
) -> list[dict[str, Any]]:
    from lorakit.models.library import ModelLibrary

    return [_relative(workspace, e.to_dict()) for e in ModelLibrary(workspace.models).entries(folder)]


@router.get("/detect", summary="What a model file is: family, kind, precision, LoRA rank")
def detect(workspace: WorkspaceDep, path: str = Query(..., max_length=4096)) -> dict[str, Any]:
    from lorakit.models.library import ModelLibrary

    target = existing(workspace, path)
    return _relative(workspace, ModelLibrary(workspace.models).detect(target).to_dict())


@router.post("/download", status_code=201, summary="Download a model from a link (a job)")
def download(body: DownloadBody, workspace: WorkspaceDep, runner: RunnerDep):
    if body.to:
        workspace.resolve_inside(body.to)
    params = body.model_dump(exclude_none=True)
    return runner.submit("download", params, title=f"Download {body.link[:80]}")
