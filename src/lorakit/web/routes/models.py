"""Models: the library (what is in models/), what a file is (detect), and downloads (a job)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from lorakit.errors import DownloadError
from lorakit.fileio import open_inside
from lorakit.jobs.params import DownloadParams
from lorakit.jobs.store import Job
from lorakit.models import library as _library  # noqa: F401 - an ImportError here leaves these routes out
from lorakit.web.deps import RunnerDep, WorkspaceDep, existing
from lorakit.web.errors import ApiError
from lorakit.workspace import workspace_relative

router = APIRouter(prefix="/api/models", tags=["models"])


# The download job's parameters, declared once in lorakit.jobs.params.
DownloadBody = DownloadParams


class ModelInfoOut(BaseModel):
    """What detection says about a model (``lorakit.models.detect.ModelInfo``, with its ``label``)."""

    path: str
    name: str
    kind: str = Field(description="checkpoint, unet, transformer, vae, text_encoder, lora, embedding, diffusers, …")
    format: str = Field(description="safetensors, diffusers, pickle, gguf or onnx")
    family: str | None = Field(None, description="sd1, sd2, sdxl, sd3 or flux; for a LoRA, its base model's")
    variant: str | None = None
    prediction: str | None = None
    prediction_source: str | None = None
    components: list[str] = []
    network: str | None = Field(None, description="Adapters: lora, locon, loha, lokr, oft or dora")
    network_source: str | None = None
    rank: int | None = None
    alpha: float | None = None
    ranks: list[int] = []
    alphas: list[float] = []
    base_source: str | None = Field(None, description="Adapters: how the base model was recognised")
    precision: str | None = Field(None, description="fp16, bf16, fp32, … (the most common)")
    dtypes: dict[str, int] = {}
    parameters: int = 0
    tensors: int = 0
    file_size: int = Field(0, description="Bytes")
    metadata: dict[str, str] = {}
    safe: bool = Field(True, description="False for pickle files (they could run code when loaded)")
    notes: list[str] = []
    label: str = Field(description="In users' words, e.g. 'SDXL LoRA'")


class LibraryEntryOut(BaseModel):
    folder: str = Field(description="checkpoints, vae, loras, embeddings or taggers")
    path: str = Field(description="Workspace-relative")
    info: ModelInfoOut | None = Field(description="Null when the file could not be read (see problem)")
    problem: str | None


def _relative(workspace, data: Any) -> Any:
    return workspace_relative(data, workspace.root)


@router.get(
    "",
    response_model=list[LibraryEntryOut],
    summary="The model library: every model under models/, with what it is",
)
def library(
    workspace: WorkspaceDep,
    folder: str | None = Query(None, pattern="^(checkpoints|vae|loras|embeddings|taggers)$"),
) -> list[dict[str, Any]]:
    from lorakit.models.library import ModelLibrary

    library = ModelLibrary(workspace.user_path("models"), inside=workspace.root)
    return [_relative(workspace, e.to_dict()) for e in library.entries(folder)]


@router.get("/detect", response_model=ModelInfoOut, summary="What a model file is: family, kind, precision, LoRA rank")
def detect(workspace: WorkspaceDep, path: str = Query(..., max_length=4096)) -> dict[str, Any]:
    from lorakit.models.library import ModelLibrary

    target = existing(workspace, path)
    workspace.user_path(path)  # not the database (opening it here would drop its locks), settings, journals
    if not target.is_dir():
        os.close(open_inside(target, workspace.root))  # a regular file inside: not a fifo, device or link out
    library = ModelLibrary(workspace.user_path("models"), inside=workspace.root)
    return _relative(workspace, library.detect(target).to_dict())


@router.post("/download", status_code=201, response_model=Job, summary="Download a model from a link (a job)")
def download(body: DownloadBody, workspace: WorkspaceDep, runner: RunnerDep) -> Job:
    from lorakit.models.links import parse_link

    try:
        parse_link(body.link)  # a link lorakit cannot use is refused now, in plain words, not by a failed job
    except DownloadError as error:
        raise ApiError("invalid", error.problem, error.fix, field="link") from None
    if body.to:
        workspace.user_path(body.to)  # not into trash/, jobs/ or a .lorakit folder
    if body.name is not None and (body.name in ("", ".", "..") or any(c in body.name for c in "/\\\0")):
        raise ApiError("invalid", f"{body.name[:100]!r} is not a file name.", "Use a plain name.", field="name")
    if body.name is not None and (body.to or "").strip("/"):
        workspace.user_path(f"{body.to.strip('/')}/{body.name}")
    params = body.model_dump(exclude_none=True)
    return runner.submit("download", params, title=f"Download {body.link[:80]}")
