"""The cross-field checks run by :func:`lorakit.config.validate.validate`, one function per topic.

Each takes ``(cfg, family, report)``; ``family`` is None while the model family is still 'auto' and
undetected, so family-dependent checks wait. Register a new check with ``@check``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lorakit.config.report import ValidationReport, check
from lorakit.config.schema import TrainConfig
from lorakit.config.sections.network import CONV_CAPABLE
from lorakit.config.sections.training import ADAPTIVE_OPTIMIZERS


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
    if cfg.model.family in ("sd1", "sd2", "sd2-v") or family in ("sd1", "sd2", "sd2-v"):
        r.warn(
            "memory.cache_text_encoder_outputs",
            "Caching text encoder outputs is only supported for SDXL and Flux.",
            "Turn off memory.cache_text_encoder_outputs for SD1/SD2 models.",
        )


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
def _precision(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    mem = cfg.memory
    if mem.full_fp16 and mem.full_bf16:
        r.problem("memory.full_bf16", "full_fp16 and full_bf16 are both on.", "Turn one of them off.")
    if mem.full_fp16 and mem.mixed_precision != "fp16":
        r.problem(
            "memory.full_fp16",
            f"full_fp16 needs mixed_precision = 'fp16' (it is {mem.mixed_precision!r}).",
            "Set memory.mixed_precision = 'fp16', or use full_bf16 with bf16.",
        )
    if mem.full_bf16 and mem.mixed_precision != "bf16":
        r.problem(
            "memory.full_bf16",
            f"full_bf16 needs mixed_precision = 'bf16' (it is {mem.mixed_precision!r}).",
            "Set memory.mixed_precision = 'bf16', or turn off full_bf16.",
        )
    if family == "sdxl" and mem.mixed_precision == "fp16" and not mem.no_half_vae and cfg.model.vae is None:
        r.warn(
            "memory.no_half_vae",
            "SDXL's VAE overflows in fp16 and turns latents into black or noisy images.",
            "Set memory.no_half_vae = true, or set model.vae to the fp16-fixed SDXL VAE.",
        )
    if mem.gradient_checkpointing_cpu_offload and not mem.gradient_checkpointing:
        r.problem(
            "memory.gradient_checkpointing_cpu_offload",
            "Checkpoint offloading needs gradient checkpointing.",
            "Turn on memory.gradient_checkpointing too.",
        )
    if mem.fused_backward_pass and cfg.optimizer.optimizer_type != "Adafactor":
        r.problem(
            "memory.fused_backward_pass",
            f"fused_backward_pass only works with the Adafactor optimizer (not {cfg.optimizer.optimizer_type}).",
            "Set optimizer.optimizer_type = 'Adafactor', or turn off fused_backward_pass.",
        )
    if mem.blocks_to_swap and family not in (None, "flux"):
        r.warn(
            "memory.blocks_to_swap",
            f"blocks_to_swap only applies to Flux; this is a {family} model.",
            "Remove memory.blocks_to_swap.",
        )


@check
def _learning_rates(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    opt = cfg.optimizer.optimizer_type
    if opt in ADAPTIVE_OPTIMIZERS:
        lrs = {"learning.learning_rate": cfg.learning.learning_rate, "learning.unet_lr": cfg.learning.unet_lr}
        for path, lr in lrs.items():
            if lr is not None and not 0.1 <= lr <= 10:
                r.warn(
                    path,
                    f"{opt} finds its own step size; its learning rate is a multiplier, normally 1.0 (it is {lr:g}).",
                    f"Set {path} = 1.0 (and text_encoder_lr to 1.0 or 0.5).",
                )
    elif cfg.learning.learning_rate >= 0.01:
        r.warn(
            "learning.learning_rate",
            f"learning_rate = {cfg.learning.learning_rate:g} is very high for {opt}; the LoRA will likely burn.",
            "Use about 1e-4 (0.0001) for LoRA with Adam-style optimizers.",
        )
    warmup = cfg.learning.lr_warmup_steps
    if isinstance(warmup, float) and warmup >= 1 and not warmup.is_integer():
        r.problem(
            "learning.lr_warmup_steps",
            f"lr_warmup_steps = {warmup:g}: a fraction must be below 1, a step count a whole number.",
            "Write a share of all steps as e.g. 0.05, or a step count as e.g. 100.",
        )
    if warmup and cfg.learning.lr_scheduler == "constant":
        r.warn(
            "learning.lr_warmup_steps",
            "lr_scheduler 'constant' has no warmup, so lr_warmup_steps is ignored.",
            "Use lr_scheduler = 'constant_with_warmup', or set lr_warmup_steps = 0.",
        )
    if cfg.learning.lr_scheduler == "adafactor" and opt != "Adafactor":
        r.problem(
            "learning.lr_scheduler",
            f"The 'adafactor' scheduler only works with the Adafactor optimizer (not {opt}).",
            "Set optimizer.optimizer_type = 'Adafactor', or choose another scheduler (e.g. 'cosine').",
        )
    if cfg.learning.lr_scheduler == "piecewise_constant" and "step_rules" not in cfg.learning.lr_scheduler_args:
        r.problem(
            "learning.lr_scheduler_args",
            "piecewise_constant needs step_rules that say when the learning rate changes.",
            'Add learning.lr_scheduler_args = {step_rules = "1:100,0.1"} (multiplier:step pairs, then the last).',
        )
    if cfg.learning.text_encoder_2_lr is not None and family not in (None, "sdxl"):
        r.warn(
            "learning.text_encoder_2_lr",
            f"Only SDXL has a second text encoder; this is a {family} model.",
            "Remove learning.text_encoder_2_lr.",
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
    for name in ("min_bucket_reso", "max_bucket_reso"):
        value = getattr(ds, name)
        if value % steps:
            r.warn(
                f"dataset.{name}",
                f"{name} = {value} is not a multiple of bucket_reso_steps ({steps}); it will be rounded down.",
                f"Use {value // steps * steps or steps}.",
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
def _network(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    net = cfg.network
    if net.alpha > net.dim:
        r.warn(
            "network.alpha",
            f"network alpha ({net.alpha:g}) is larger than dim ({net.dim}), which multiplies every update by"
            f" {net.alpha / net.dim:g}: training gets harsh and unstable.",
            f"Set network.alpha to {net.dim // 2 or 1} (half of dim) or at most {net.dim}.",
        )
    if net.conv_dim is not None and net.type not in CONV_CAPABLE:
        r.problem(
            "network.conv_dim",
            f"network type {net.type!r} cannot adapt convolution layers, so conv_dim does nothing.",
            "Set network.type = 'locon' (or lora, loha, lokr), or remove conv_dim.",
        )
    if net.conv_alpha is not None and net.conv_dim is None:
        r.warn("network.conv_alpha", "conv_alpha is set but conv_dim is not.", "Set network.conv_dim too.")
    if net.conv_dim is not None and net.conv_alpha is not None and net.conv_alpha > net.conv_dim:
        r.warn(
            "network.conv_alpha",
            f"conv_alpha ({net.conv_alpha:g}) is larger than conv_dim ({net.conv_dim}).",
            f"Set network.conv_alpha to at most {net.conv_dim}.",
        )
    if net.train_unet_only and net.train_text_encoder_only:
        r.problem(
            "network.train_text_encoder_only",
            "train_unet_only and train_text_encoder_only are both on, so nothing would be trained.",
            "Turn one of them off.",
        )
    if net.factor is not None and net.type != "lokr":
        r.warn("network.factor", f"factor only applies to LoKr (type is {net.type!r}).", "Remove network.factor.")
    if net.dylora_unit is not None and net.type != "dylora":
        r.warn("network.dylora_unit", "dylora_unit only applies to DyLoRA.", "Remove network.dylora_unit.")
    if net.dim_from_weights and net.network_weights is None:
        r.problem(
            "network.dim_from_weights",
            "dim_from_weights needs a LoRA in network_weights to read dim from.",
            "Set network.network_weights, or turn off dim_from_weights.",
        )
    pairs = (("block_dims", "block_alphas"), ("conv_block_dims", "conv_block_alphas"))
    for dims, alphas in pairs:
        a, b = getattr(net, dims), getattr(net, alphas)
        if a is not None and b is not None and len(a) != len(b):
            r.problem(
                f"network.{alphas}",
                f"{alphas} has {len(b)} numbers but {dims} has {len(a)}.",
                "Give one alpha per block.",
            )
    if net.base_weights_multiplier and len(net.base_weights_multiplier) != len(net.base_weights):
        r.problem(
            "network.base_weights_multiplier",
            f"{len(net.base_weights_multiplier)} multipliers for {len(net.base_weights)} base_weights files.",
            "Give one multiplier per file (or none for 1.0 each).",
        )


@check
def _schedule_and_noise(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    sch = cfg.schedule
    if sch.max_train_epochs is None and sch.max_train_steps is None:
        r.problem(
            "schedule.max_train_epochs",
            "Neither max_train_epochs nor max_train_steps is set, so training has no end.",
            "Set schedule.max_train_epochs (10 is a good start).",
        )
    elif sch.max_train_epochs is not None and sch.max_train_steps is not None:
        r.warn(
            "schedule.max_train_steps",
            "Both max_train_epochs and max_train_steps are set; epochs win and max_train_steps is ignored.",
            "Remove one of them.",
        )
    noise = cfg.noise
    if noise.min_timestep is not None and noise.max_timestep is not None and noise.min_timestep >= noise.max_timestep:
        r.problem(
            "noise.min_timestep",
            f"min_timestep ({noise.min_timestep}) must be below max_timestep ({noise.max_timestep}).",
            "Lower min_timestep or raise max_timestep.",
        )
    if noise.min_snr_gamma is not None and noise.debiased_estimation_loss:
        r.warn(
            "noise.debiased_estimation_loss",
            "min_snr_gamma and debiased_estimation_loss both reweight noise levels; together they overcorrect.",
            "Use only one of them.",
        )
    if noise.adaptive_noise_scale is not None and not noise.noise_offset:
        r.problem(
            "noise.adaptive_noise_scale",
            "adaptive_noise_scale only works on top of noise_offset.",
            "Set noise.noise_offset (e.g. 0.05), or remove adaptive_noise_scale.",
        )
    if noise.multires_noise_iterations and noise.noise_offset:
        r.warn(
            "noise.multires_noise_iterations",
            "Multi-resolution noise and noise_offset do similar things and are not meant to be combined.",
            "Use one of them.",
        )


@check
def _model_family(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    m = cfg.model
    if family == "sd2-v" and m.v_parameterization is False:
        r.problem(
            "model.v_parameterization",
            "sd2-v models predict v; v_parameterization = false would train them wrong.",
            "Remove model.v_parameterization (it follows the family).",
        )
    if family == "flux":
        if m.v_parameterization:
            r.problem("model.v_parameterization", "Flux does not use v-prediction.", "Remove v_parameterization.")
        missing = [n for n in ("clip_l", "t5xxl", "ae") if getattr(m, n) is None]
        model_path = m.pretrained_model_name_or_path or ""
        if missing and model_path.endswith(".safetensors"):
            r.warn(
                f"model.{missing[0]}",
                f"A single-file Flux model usually needs separate {', '.join(missing)} files.",
                "Set model.clip_l, model.t5xxl and model.ae to their files (or use a diffusers folder).",
            )
    if m.clip_skip is not None and m.clip_skip > 1 and family in ("sdxl", "flux"):
        r.warn("model.clip_skip", f"{family} models ignore clip_skip.", "Remove model.clip_skip.")


@check
def _captions(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    cap = cfg.captions
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
