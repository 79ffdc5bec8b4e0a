"""Cross-field checks of the data side: images, captions, buckets, caches, samples (see also
:mod:`lorakit.config.checks_training`). Run by :func:`lorakit.config.validate.validate`, one function per topic.

Each takes ``(cfg, family, report)``; ``family`` is None while the model family is still 'auto' and
undetected, so family-dependent checks wait. Register a new check with ``@check``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lorakit.config.report import ValidationReport, check
from lorakit.config.schema import TrainConfig


def _option_sources(cfg: TrainConfig, name: str, section: str) -> list[tuple[str, Any]]:
    """(field path, value) of an option at dataset level and in every subset that overrides it."""
    table = cfg.captions if section == "captions" else cfg.dataset
    found = [(f"{section}.{name}", getattr(table, name))]
    for i, subset in enumerate(cfg.dataset.subsets):
        own = getattr(subset, name)
        if own is not None:
            found.append((f"dataset.subsets[{i}].{name}", own))
    return found


@check
def _basics(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    if not cfg.model.pretrained_model_name_or_path:
        r.problem(
            "model.pretrained_model_name_or_path",
            "No base model is set.",
            "Set model.pretrained_model_name_or_path to a .safetensors file, a diffusers folder or a Hugging Face id.",
        )
    ds = cfg.dataset
    if not ds.subsets and ds.train_data_dir is None:
        r.problem(
            "dataset.subsets",
            "No images to train on: there are no subsets and no train_data_dir.",
            'Add a [[dataset.subsets]] with image_dir = "path/to/images", or set dataset.train_data_dir.',
        )
    if ds.subsets and ds.train_data_dir is not None:
        r.problem(
            "dataset.train_data_dir",
            "Both subsets and train_data_dir are set; only one way of listing images can be used.",
            "Remove train_data_dir (the subsets already list the folders), or remove the subsets.",
        )
    if ds.reg_data_dir is not None and ds.train_data_dir is None:
        r.problem(
            "dataset.reg_data_dir",
            "reg_data_dir only works together with train_data_dir.",
            "Add the regularization folder as a subset with is_reg = true instead.",
        )


@check
def _text_encoder_cache(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    if not cfg.memory.cache_text_encoder_outputs:
        return
    varying = {
        "shuffle_caption": "shuffles captions",
        "caption_dropout_rate": "drops captions",
        "caption_dropout_every_n_epochs": "drops captions",
        "caption_tag_dropout_rate": "drops tags",
        "token_warmup_step": "uses token warmup",
        "enable_wildcard": "uses wildcards",
    }
    for name, what in varying.items():
        for path, value in _option_sources(cfg, name, "captions"):
            if value:
                r.problem(
                    path,
                    f"memory.cache_text_encoder_outputs is on, but {path} = {value!r} {what}: cached captions are"
                    " encoded once and can never change.",
                    f"Turn off memory.cache_text_encoder_outputs, or set {path} to its off value.",
                )
    if not cfg.network.train_unet_only:
        r.problem(
            "network.train_unet_only",
            "memory.cache_text_encoder_outputs is on, but the text encoder is being trained (its outputs change).",
            "Set network.train_unet_only = true, or turn off memory.cache_text_encoder_outputs.",
        )
    # SD1/SD2 are fine too: lorakit's engine caches their text encoder outputs (sd-scripts only does SDXL/Flux).


@check
def _latent_cache(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    if not cfg.memory.cache_latents:
        if cfg.memory.cache_latents_to_disk:
            r.warn(
                "memory.cache_latents_to_disk",
                "cache_latents_to_disk is on but cache_latents is off; latents will be cached anyway.",
                "Turn on memory.cache_latents too (or turn both off).",
            )
        return
    for name in ("color_aug", "random_crop"):
        for path, value in _option_sources(cfg, name, "dataset"):
            if value:
                r.problem(
                    path,
                    f"{path} changes the image every time it is shown, but memory.cache_latents encodes each image"
                    " only once.",
                    f"Turn off {path}, or turn off memory.cache_latents (slower, more memory).",
                )


@check
def _buckets(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    ds = cfg.dataset
    steps = ds.bucket_reso_steps
    latent = 16 if family == "flux" else 8
    sides = ds.resolution_wh
    if any(side % latent for side in sides):
        r.problem(
            "dataset.resolution",
            f"resolution {ds.resolution} is not a multiple of {latent} pixels, which the model needs.",
            f"Use a multiple of 64, e.g. {round(sides[0] / 64) * 64 or 64}.",
        )
    if not ds.enable_bucket:
        return
    if steps % latent:
        r.problem(
            "dataset.bucket_reso_steps",
            f"bucket_reso_steps = {steps} is not a multiple of {latent}.",
            "Use 64 (safe for every model).",
        )
    else:
        good = 32 if family in ("sdxl", "flux") else 64
        if family is not None and steps % good:
            r.warn(
                "dataset.bucket_reso_steps",
                f"bucket_reso_steps = {steps} is not a multiple of {good}, which {family} models expect.",
                f"Use {good} or 64.",
            )
    if ds.min_bucket_reso > ds.max_bucket_reso:
        r.problem(
            "dataset.min_bucket_reso",
            f"min_bucket_reso ({ds.min_bucket_reso}) is larger than max_bucket_reso ({ds.max_bucket_reso}).",
            "Swap them, or lower min_bucket_reso.",
        )
    if steps > 0 and ds.min_bucket_reso < steps:
        # Rounded down to the step (as sd-scripts does) it would be 0: no bucket can have a side of 0 pixels.
        r.problem(
            "dataset.min_bucket_reso",
            f"min_bucket_reso = {ds.min_bucket_reso} is smaller than one bucket step (bucket_reso_steps ="
            f" {steps}), so no bucket can be that small.",
            f"Use {steps} or more (half the resolution, {max(steps, min(sides) // 2 // steps * steps)}, is usual),"
            " or lower bucket_reso_steps.",
        )
    for name, rounded in (("min_bucket_reso", "down"), ("max_bucket_reso", "up")):
        value = getattr(ds, name)
        if steps > 0 and value % steps and value >= steps:
            # sd-scripts rounds min down and max up to the step (adjust_min_max_bucket_reso_by_steps).
            near = value // steps * steps if rounded == "down" else (value // steps + 1) * steps
            r.warn(
                f"dataset.{name}",
                f"{name} = {value} is not a multiple of bucket_reso_steps ({steps}); it will be rounded"
                f" {rounded} to {near}.",
                f"Use {near}.",
            )
    if any(side % steps for side in sides):
        r.problem(
            "dataset.resolution",
            f"resolution {ds.resolution} is not a multiple of bucket_reso_steps ({steps}).",
            f"Use a resolution that is a multiple of {steps}, or change bucket_reso_steps.",
        )
    if ds.max_bucket_reso < max(sides):
        r.problem(
            "dataset.max_bucket_reso",
            f"max_bucket_reso ({ds.max_bucket_reso}) is smaller than the resolution ({max(sides)}).",
            f"Set max_bucket_reso to at least {max(sides)} (2x the resolution is usual).",
        )
    if ds.min_bucket_reso > min(sides):
        r.problem(
            "dataset.min_bucket_reso",
            f"min_bucket_reso ({ds.min_bucket_reso}) is larger than the resolution ({min(sides)}).",
            f"Set min_bucket_reso to at most {min(sides)} (half the resolution is usual).",
        )


@check
def _captions(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    cap = cfg.captions
    varies = cap.shuffle_caption or cap.caption_tag_dropout_rate or cap.token_warmup_step
    if cap.keep_tokens and not varies and not any(s.shuffle_caption for s in cfg.dataset.subsets):
        r.warn(
            "captions.keep_tokens",
            "keep_tokens only matters when tags are shuffled or dropped, and neither is on.",
            "Turn on captions.shuffle_caption (for tag captions), or set keep_tokens = 0.",
        )
    if cap.keep_tokens and cap.keep_tokens_separator:
        r.warn(
            "captions.keep_tokens",
            "keep_tokens and keep_tokens_separator are both set; the separator wins.",
            "Use one of them.",
        )
    if cfg.captions.weighted_captions and cap.shuffle_caption:
        r.warn(
            "captions.weighted_captions",
            "Weighted captions are not shuffled; shuffle_caption is ignored for them.",
            "Turn off one of them.",
        )


@check
def _samples(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    s = cfg.samples
    if (s.sample_every_n_epochs or s.sample_every_n_steps or s.sample_at_first) and not s.sample_prompts:
        r.warn(
            "samples.sample_prompts",
            "Previews are scheduled but there are no sample prompts, so none will be made.",
            "Set samples.sample_prompts to a list of prompts (include your trigger word) or a prompt file.",
        )
    if isinstance(s.sample_prompts, Path) and not s.sample_prompts.is_file():
        r.problem(
            "samples.sample_prompts",
            f"The sample prompt file {s.sample_prompts} does not exist.",
            "Check the path, or write the prompts as a list in the config.",
        )
    if (s.validate_every_n_steps or s.validate_every_n_epochs) and not s.validation_split:
        r.warn(
            "samples.validation_split",
            "A validation interval is set but validation_split is 0, so nothing is held back to validate on.",
            "Set samples.validation_split (e.g. 0.1).",
        )
