"""Job functions for the core's long work: typed params (``lorakit.jobs.params``) -> a core call.

Each adapter confines every path to the workspace, hands the job's emitter to the core function, and
returns a JSON-able result (the worker then writes its paths workspace-relative). The work itself lives
in the core modules; nothing here trains or edits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lorakit.jobs import params as P
from lorakit.jobs.registry import JobContext


def import_images(params: P.ImportParams, ctx: JobContext) -> dict[str, Any]:
    """Import folders, ZIP archives or images (``sources``) into a dataset folder (``to``)."""
    from lorakit.data.importer import import_images as run_import

    ws = ctx.workspace
    sources = [ws.resolve_inside(p, must_exist=True) for p in params.sources]
    target = ws.resolve_inside(params.to)
    ctx.set_run_dir(target)
    report = run_import(sources, target, emitter=ctx.emitter)
    result = report.to_dict()
    result["summary"] = report.summary()
    return result


def _forward(ctx: JobContext):
    """An Emitter that hands a core function's events on to the job's log (the job writes its own result)."""
    from lorakit.events import ERROR, RESULT, Emitter

    def relay(event) -> None:
        if event.type not in (RESULT, ERROR):
            ctx.emitter.emit(event.type, **event.data)

    return Emitter(callbacks=[relay])


def train_saved_state(run_dir: Path) -> bool:
    """Whether a training run folder holds a complete saved state (``state/latest.json``, written last)."""
    return (Path(run_dir) / "state" / "latest.json").is_file()


def train(params: P.TrainParams, ctx: JobContext) -> dict[str, Any]:
    """Train a LoRA (``config``: a saved config or JSON); as a resume, continue the earlier run's folder."""
    from lorakit.train import run

    if ctx.resume_from:
        ctx.set_run_dir(ctx.resume_from)
        return run.resume(ctx.resume_from, _forward(ctx), ctx.commands)
    cfg = params.load(ctx.workspace)
    run_dir = run.new_run_dir(cfg)
    ctx.set_run_dir(run_dir)  # known before the first step, so a crash can be resumed
    return run.train(cfg, run_dir, _forward(ctx), ctx.commands)


def _dataset_images(params: P.TagParams | P.CaptionParams, ctx: JobContext):
    from lorakit.data.images import list_images

    root = ctx.workspace.resolve_inside(params.dataset, must_exist=True)
    if params.images:
        images = [ctx.workspace.resolve_inside(p, must_exist=True) for p in params.images]
    else:
        images = list_images(root)
    ctx.set_run_dir(root)
    return root, images


def tag(params: P.TagParams, ctx: JobContext) -> dict[str, Any]:
    """Tag a dataset's images with a WD14 model (``model``: a folder under models/taggers)."""
    from lorakit.tagging.tag_rules import TagSettings
    from lorakit.tagging.wd14 import Tagger, tag_images

    root, images = _dataset_images(params, ctx)
    model = ctx.workspace.resolve_inside(params.model, must_exist=True)
    settings = TagSettings(**params.settings)
    report = tag_images(root, images, Tagger(model), settings, emitter=_forward(ctx), commands=ctx.commands)
    return report.to_dict()


def caption(params: P.CaptionParams, ctx: JobContext) -> dict[str, Any]:
    """Caption a dataset's images with an image-to-text model (a folder under models/ or a repo id)."""
    from lorakit.tagging.captioner import Captioner, CaptionSettings, caption_images

    root, images = _dataset_images(params, ctx)
    model = params.model or ""
    if model:
        path = ctx.workspace.resolve_inside(model)
        model = str(path) if path.exists() else model
    captioner = Captioner(model) if model else Captioner()
    settings = CaptionSettings(**params.settings)
    report = caption_images(root, images, captioner, settings, emitter=_forward(ctx), commands=ctx.commands)
    return report.to_dict()


def dedup(params: P.DedupParams, ctx: JobContext) -> dict[str, Any]:
    """Find near-duplicate images in a dataset; with ``remove``, trash all but the suggested keeper."""
    from lorakit.data.dedup import find_duplicates, remove_duplicates
    from lorakit.trash import Trash

    root = ctx.workspace.resolve_inside(params.dataset, must_exist=True)
    kwargs = {"threshold": params.threshold} if params.threshold is not None else {}
    ctx.set_run_dir(root)
    report = find_duplicates(root, emitter=_forward(ctx), **kwargs)
    result = report.to_dict()
    if params.remove:
        trashed = remove_duplicates(report.groups, Trash(ctx.workspace.trash))
        result["trashed"] = [item.id for item in trashed]
    return result


def download(params: P.DownloadParams, ctx: JobContext) -> dict[str, Any]:
    """Download a pasted link (Hugging Face, Civitai, https) into the model library (or the folder ``to``)."""
    from lorakit.models.download import download as fetch
    from lorakit.models.transfer import Stopped

    to = ctx.workspace.resolve_inside(params.to) if params.to else None
    try:
        result = fetch(
            params.link,
            ctx.workspace.models,
            to=to,
            name=params.name,
            emitter=_forward(ctx),
            commands=ctx.commands,
            # The same service addresses as `lorakit models download` (a mirror, or a test's loopback server).
            civitai_base_url=os.environ.get("LORAKIT_CIVITAI_URL"),
            hf_endpoint=os.environ.get("HF_ENDPOINT"),
        )
    except Stopped as stopped:
        # `stop` (or `cancel`) kept the .part file: the job ends stopped, and a retry goes on from there.
        return {"stopped": True, "message": stopped.problem}
    return result.to_dict()


def _output(params: P.ResizeParams | P.MergeParams | P.ExtractParams | P.ConvertParams, ctx, default_name: str):
    out = params.output or f"models/loras/{default_name}"
    path = ctx.workspace.resolve_inside(out)
    ctx.set_run_dir(path.parent)
    return path


def resize(params: P.ResizeParams, ctx: JobContext) -> dict[str, Any]:
    """Resize a LoRA to a lower rank (``rank``, or ``method`` + ``value`` for a dynamic rank)."""
    from lorakit.lora.resize import resize_lora

    source = ctx.workspace.resolve_inside(params.source, must_exist=True)
    output = _output(params, ctx, f"{source.stem}-resized.safetensors")
    report = resize_lora(source, output, **params.tool_options(), emitter=_forward(ctx))
    return {"output": ctx.workspace.relative(output), **report.to_dict()}


def merge(params: P.MergeParams, ctx: JobContext) -> dict[str, Any]:
    """Merge LoRAs (``sources``: [[path, weight], ...]) into one file."""
    from lorakit.lora.merge import merge_lora_files

    sources = [(ctx.workspace.resolve_inside(p, must_exist=True), w) for p, w in params.sources]
    output = _output(params, ctx, "merged.safetensors")
    path, report = merge_lora_files(sources, output, **params.tool_options(), emitter=_forward(ctx))
    return {"output": ctx.workspace.relative(path), "resize": report.to_dict() if report else None}


def extract(params: P.ExtractParams, ctx: JobContext) -> dict[str, Any]:
    """Extract a LoRA from the difference between a fine-tuned model and its base."""
    from lorakit.lora.extract import extract_lora

    base = ctx.workspace.resolve_inside(params.base, must_exist=True)
    tuned = ctx.workspace.resolve_inside(params.tuned, must_exist=True)
    output = _output(params, ctx, f"{tuned.stem}-extracted.safetensors")
    result = extract_lora(base, tuned, output, **params.tool_options(), emitter=_forward(ctx))
    return {"output": ctx.workspace.relative(output), **{k: v for k, v in result.items() if k != "output"}}


def bake(params: P.BakeParams, ctx: JobContext) -> dict[str, Any]:
    """Bake LoRAs (``loras``: [[path, weight], ...]) into a single-file checkpoint, writing a new one."""
    from lorakit.lora.bake import bake_loras

    checkpoint = ctx.workspace.resolve_inside(params.checkpoint, must_exist=True)
    loras = [(ctx.workspace.resolve_inside(p, must_exist=True), w) for p, w in params.loras]
    out = params.output or f"models/checkpoints/{checkpoint.stem}-baked.safetensors"
    output = ctx.workspace.resolve_inside(out)
    ctx.set_run_dir(output.parent)
    path = bake_loras(checkpoint, loras, output, dtype=params.precision, emitter=_forward(ctx))
    return {"output": ctx.workspace.relative(path), "loras": [[p, w] for p, w in params.loras]}


def upload(params: P.UploadParams, ctx: JobContext) -> dict[str, Any]:
    """Upload a LoRA (with a model card) to a Hugging Face repo; the token comes from the saved credentials."""
    from lorakit.hub.upload import upload_lora

    lora = ctx.workspace.resolve_inside(params.lora, must_exist=True)
    images = [(ctx.workspace.resolve_inside(p, must_exist=True), c) for p, c in params.images or []]
    result = upload_lora(lora, params.repo_id, images=images or None, emitter=_forward(ctx), **params.card_options())
    return result.to_dict()


def health(params: P.HealthParams, ctx: JobContext) -> dict[str, Any]:
    """Check a dataset: unreadable or tiny images, missing captions, duplicates, trigger word, sizes."""
    from lorakit.data.health import check_dataset

    root = ctx.workspace.resolve_inside(params.dataset, must_exist=True)
    ctx.set_run_dir(root)
    options = params.model_dump(exclude={"dataset", "fixes"}, exclude_none=True)
    report = check_dataset(root, emitter=_forward(ctx), **options)
    if not params.fixes:
        return report.to_dict()
    from lorakit.data.health_fixes import apply_fix
    from lorakit.trash import Trash

    # Like `lorakit dataset check --fix`: fix from this check's findings, then check again. Trashed files go
    # to the workspace's trash, where the Files page lists and restores them.
    trash = Trash(ctx.workspace.trash, ctx.workspace.root)
    fixes = [
        apply_fix(root, fix_id, report=report, trigger_word=params.trigger_word, trash=trash).to_dict()
        for fix_id in params.fixes
    ]
    return {**check_dataset(root, emitter=_forward(ctx), **options).to_dict(), "fixes": fixes}


def convert(params: P.ConvertParams, ctx: JobContext) -> dict[str, Any]:
    """Convert a LoRA between layouts (kohya, peft/diffusers, ...)."""
    from lorakit.lora.convert import convert_lora

    source = ctx.workspace.resolve_inside(params.source, must_exist=True)
    layout = params.layout
    output = _output(params, ctx, f"{source.stem}-{layout}.safetensors")
    return {"output": convert_lora(source, output, layout, arch=params.arch)}
