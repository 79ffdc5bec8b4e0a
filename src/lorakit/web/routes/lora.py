"""LoRA tools: inspect directly; resize, merge, extract and upload as jobs (they can take minutes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from lorakit.jobs.params import ConvertParams, ExtractParams, MergeParams, ResizeParams, UploadParams
from lorakit.lora import inspect as _inspect  # noqa: F401 - an ImportError here leaves these routes out
from lorakit.web.deps import RunnerDep, WorkspaceDep, existing

router = APIRouter(prefix="/api/lora", tags=["lora"])

# The request bodies are the job kinds' parameters, declared once in lorakit.jobs.params.
ResizeBody, MergeBody, ExtractBody = ResizeParams, MergeParams, ExtractParams
ConvertBody, UploadBody = ConvertParams, UploadParams


@router.get("/inspect", summary="What a LoRA holds: rank, alpha, modules, training metadata, hashes")
def inspect(workspace: WorkspaceDep, path: str = Query(..., max_length=4096)) -> dict[str, Any]:
    from lorakit.lora.inspect import inspect_lora

    report = inspect_lora(existing(workspace, path)).to_dict()
    report["path"] = path
    return report


def _check_paths(workspace, *paths: str | None) -> None:
    for path in paths:
        if path:
            workspace.resolve_inside(path)


@router.post("/resize", status_code=201, summary="Resize a LoRA to a lower rank (a job)")
def resize(body: ResizeBody, workspace: WorkspaceDep, runner: RunnerDep):
    existing(workspace, body.source, field="source")
    _check_paths(workspace, body.output)
    return runner.submit("resize", body.model_dump(exclude_none=True), title=f"Resize {body.source}")


@router.post("/merge", status_code=201, summary="Merge LoRAs into one (a job)")
def merge(body: MergeBody, workspace: WorkspaceDep, runner: RunnerDep):
    for path, _ in body.sources:
        existing(workspace, path, field="sources")
    _check_paths(workspace, body.output)
    params = body.model_dump(exclude_none=True)
    params["sources"] = [list(s) for s in body.sources]
    return runner.submit("merge", params, title=f"Merge {len(body.sources)} LoRAs")


@router.post("/extract", status_code=201, summary="Extract a LoRA from a fine-tuned model (a job)")
def extract(body: ExtractBody, workspace: WorkspaceDep, runner: RunnerDep):
    existing(workspace, body.base, field="base")
    existing(workspace, body.tuned, field="tuned")
    _check_paths(workspace, body.output)
    return runner.submit("extract", body.model_dump(exclude_none=True), title=f"Extract from {body.tuned}")


@router.post("/upload", status_code=201, summary="Upload a LoRA to Hugging Face (a job)")
def upload(body: UploadBody, workspace: WorkspaceDep, runner: RunnerDep):
    existing(workspace, body.lora, field="lora")
    for image, _ in body.images or []:
        existing(workspace, image, field="images")
    params = body.model_dump(exclude_none=True)
    return runner.submit("upload", params, title=f"Upload to {body.repo_id}")


@router.post("/convert", status_code=201, summary="Convert a LoRA to another layout (a job)")
def convert(body: ConvertBody, workspace: WorkspaceDep, runner: RunnerDep):
    existing(workspace, body.source, field="source")
    _check_paths(workspace, body.output)
    return runner.submit("convert", body.model_dump(exclude_none=True), title=f"Convert {body.source}")
