"""LoRA tools: inspect and the model card preview directly; resize, merge, extract, convert, bake and upload as
jobs (they can take minutes)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from lorakit.jobs.params import BakeParams, ConvertParams, ExtractParams, MergeParams, ResizeParams, UploadParams
from lorakit.jobs.store import Job
from lorakit.lora import inspect as _inspect  # noqa: F401 - an ImportError here leaves these routes out
from lorakit.web.deps import RunnerDep, WorkspaceDep, existing

router = APIRouter(prefix="/api/lora", tags=["lora"])

# The request bodies are the job kinds' parameters, declared once in lorakit.jobs.params.
ResizeBody, MergeBody, ExtractBody = ResizeParams, MergeParams, ExtractParams
ConvertBody, UploadBody, BakeBody = ConvertParams, UploadParams, BakeParams


class CardPreview(BaseModel):
    card: str
    repo_id: str


@router.get("/inspect", summary="What a LoRA holds: rank, alpha, modules, training metadata, hashes")
def inspect(workspace: WorkspaceDep, path: str = Query(..., max_length=4096)) -> dict[str, Any]:
    from lorakit.lora.inspect import inspect_lora
    from lorakit.lora.inspect_blocks import block_summary_dicts

    found = inspect_lora(existing(workspace, path))
    report = found.to_dict()
    report["path"] = path
    report["blocks"] = block_summary_dicts(found.modules)
    for module in report["modules"]:
        # DoRA and Tucker LoHa have no strength without their base weights (NaN is not JSON).
        if not math.isfinite(module["strength"]):
            module["strength"] = None
    return report


def _check_paths(workspace, *paths: str | None) -> None:
    for path in paths:
        if path:
            workspace.resolve_inside(path)


@router.post("/resize", status_code=201, response_model=Job, summary="Resize a LoRA to a lower rank (a job)")
def resize(body: ResizeBody, workspace: WorkspaceDep, runner: RunnerDep):
    existing(workspace, body.source, field="source")
    _check_paths(workspace, body.output)
    return runner.submit("resize", body.model_dump(exclude_none=True), title=f"Resize {body.source}")


@router.post("/merge", status_code=201, response_model=Job, summary="Merge LoRAs into one (a job)")
def merge(body: MergeBody, workspace: WorkspaceDep, runner: RunnerDep):
    for path, _ in body.sources:
        existing(workspace, path, field="sources")
    _check_paths(workspace, body.output)
    params = body.model_dump(exclude_none=True)
    params["sources"] = [list(s) for s in body.sources]
    return runner.submit("merge", params, title=f"Merge {len(body.sources)} LoRAs")


@router.post("/extract", status_code=201, response_model=Job, summary="Extract a LoRA from a fine-tuned model (a job)")
def extract(body: ExtractBody, workspace: WorkspaceDep, runner: RunnerDep):
    existing(workspace, body.base, field="base")
    existing(workspace, body.tuned, field="tuned")
    _check_paths(workspace, body.output)
    return runner.submit("extract", body.model_dump(exclude_none=True), title=f"Extract from {body.tuned}")


@router.post("/upload", status_code=201, response_model=Job, summary="Upload a LoRA to Hugging Face (a job)")
def upload(body: UploadBody, workspace: WorkspaceDep, runner: RunnerDep):
    existing(workspace, body.lora, field="lora")
    for image, _ in body.images or []:
        existing(workspace, image, field="images")
    params = body.model_dump(exclude_none=True)
    return runner.submit("upload", params, title=f"Upload to {body.repo_id}")


@router.post("/convert", status_code=201, response_model=Job, summary="Convert a LoRA to another layout (a job)")
def convert(body: ConvertBody, workspace: WorkspaceDep, runner: RunnerDep):
    existing(workspace, body.source, field="source")
    _check_paths(workspace, body.output)
    return runner.submit("convert", body.model_dump(exclude_none=True), title=f"Convert {body.source}")


@router.post(
    "/bake", status_code=201, response_model=Job, summary="Bake LoRAs into a checkpoint, writing a new one (a job)"
)
def bake(body: BakeBody, workspace: WorkspaceDep, runner: RunnerDep):
    existing(workspace, body.checkpoint, field="checkpoint")
    for path, _ in body.loras:
        existing(workspace, path, field="loras")
    _check_paths(workspace, body.output)
    params = body.model_dump(exclude_none=True)
    params["loras"] = [list(item) for item in body.loras]
    return runner.submit("bake", params, title=f"Bake {len(body.loras)} LoRA(s) into {body.checkpoint}")


@router.post("/card", response_model=CardPreview, summary="The model card an upload would send, to edit first")
def card_preview(body: UploadBody, workspace: WorkspaceDep) -> CardPreview:
    from lorakit.hub.upload import preview_card

    lora = existing(workspace, body.lora, field="lora")
    images = [(existing(workspace, image, field="images"), prompt) for image, prompt in body.images or []]
    options = body.card_options()
    options.pop("private")
    options.pop("card")
    return CardPreview(card=preview_card(lora, body.repo_id, images=images or None, **options), repo_id=body.repo_id)
