"""The files a run writes: LoRA files with their sd-scripts metadata, named and pruned as sd-scripts does.

Names: ``<name>.safetensors`` (final), ``<name>-000002.safetensors`` (after epoch 2),
``<name>-step00000004.safetensors`` (after step 4, or saved on request).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from lorakit.lora.kohya import SAVE_DTYPES, save_lora_file, training_metadata


def checkpoint_name(output_name: str, *, epoch: int | None = None, step: int | None = None) -> str:
    """The file name of an intermediate LoRA (sd-scripts' naming)."""
    if epoch is not None:
        return f"{output_name}-{epoch:06d}.safetensors"
    return f"{output_name}-step{step:08d}.safetensors"


def dataset_metadata(plan, examples, resolution: int) -> dict[str, Any]:
    """``ss_tag_frequency``, ``ss_dataset_dirs`` and ``ss_bucket_info`` from the plan, as sd-scripts writes them."""
    tags: dict[str, Counter] = {}
    dirs: dict[str, dict[str, int]] = {}
    for example in examples:
        folder = Path(example.subset.image_dir).name
        counter = tags.setdefault(folder, Counter())
        for tag in example.caption.split(","):
            if tag.strip():
                counter[tag.strip()] += 1
        entry = dirs.setdefault(folder, {"n_repeats": example.subset.num_repeats, "img_count": 0})
        entry["img_count"] += 1
    buckets = {
        str(i): {"resolution": [row.width, row.height], "count": row.images_with_repeats}
        for i, row in enumerate(plan.buckets)
    }
    return {
        "tag_frequency": {k: dict(v) for k, v in tags.items()},
        "dataset_dirs": dirs,
        "bucket_info": {"buckets": buckets, "mean_img_ar_error": plan.mean_aspect_error},
        "num_train_images": plan.train_images_with_repeats,
        "num_reg_images": plan.reg_images,
        "resolution": resolution,
    }


def training_settings(cfg, plan, optimizer) -> dict[str, Any]:
    """The training values sd-scripts records as ``ss_<name>``."""
    lr, sch, nz, mem, cap, ds = cfg.learning, cfg.schedule, cfg.noise, cfg.memory, cfg.captions, cfg.dataset
    optimizer = getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper holds the real one
    opt_class = f"{type(optimizer).__module__}.{type(optimizer).__name__}"
    return {
        "learning_rate": lr.learning_rate,
        "unet_lr": lr.unet_lr if lr.unet_lr is not None else lr.learning_rate,
        "text_encoder_lr": lr.text_encoder_lr if lr.text_encoder_lr is not None else lr.learning_rate,
        "optimizer": f"{opt_class}({cfg.optimizer.optimizer_args or ''})",
        "lr_scheduler": str(lr.lr_scheduler),
        "lr_warmup_steps": plan.warmup_steps,
        "max_train_steps": plan.total_steps,
        "num_epochs": plan.epochs,
        "num_batches_per_epoch": plan.batches_per_epoch,
        "batch_size_per_device": sch.train_batch_size,
        "total_batch_size": sch.train_batch_size * sch.gradient_accumulation_steps * plan.num_processes,
        "gradient_accumulation_steps": sch.gradient_accumulation_steps,
        "gradient_checkpointing": mem.gradient_checkpointing,
        "max_grad_norm": cfg.optimizer.max_grad_norm,
        "mixed_precision": str(mem.mixed_precision),
        "full_fp16": mem.full_fp16,
        "seed": sch.seed,
        "clip_skip": cfg.model.clip_skip,
        "max_token_length": cap.max_token_length,
        "cache_latents": mem.cache_latents,
        "noise_offset": nz.noise_offset,
        "multires_noise_iterations": nz.multires_noise_iterations,
        "multires_noise_discount": nz.multires_noise_discount,
        "adaptive_noise_scale": nz.adaptive_noise_scale,
        "ip_noise_gamma": nz.ip_noise_gamma,
        "min_snr_gamma": nz.min_snr_gamma,
        "debiased_estimation": nz.debiased_estimation_loss,
        "zero_terminal_snr": nz.zero_terminal_snr,
        "loss_type": str(nz.loss_type),
        "huber_schedule": str(nz.huber_schedule),
        "huber_c": nz.huber_c,
        "prior_loss_weight": ds.prior_loss_weight,
        "min_bucket_reso": ds.min_bucket_reso,
        "max_bucket_reso": ds.max_bucket_reso,
        "bucket_no_upscale": ds.bucket_no_upscale,
        "enable_bucket": ds.enable_bucket,
        "caption_dropout_rate": cap.caption_dropout_rate,
        "caption_dropout_every_n_epochs": cap.caption_dropout_every_n_epochs,
        "caption_tag_dropout_rate": cap.caption_tag_dropout_rate,
        "keep_tokens": cap.keep_tokens,
        "shuffle_caption": cap.shuffle_caption,
        "flip_aug": ds.flip_aug,
        "color_aug": ds.color_aug,
        "random_crop": ds.random_crop,
    }


# The Flux values flux_train_network.py records as ss_<name> (model section fields of the same names).
FLUX_SETTINGS = (
    "guidance_scale",
    "timestep_sampling",
    "sigmoid_scale",
    "discrete_flow_shift",
    "model_prediction_type",
    "apply_t5_attn_mask",
)


def flux_settings(cfg, family) -> dict[str, Any]:
    """``ss_guidance_scale``, ``ss_timestep_sampling`` ... for a Flux run; nothing for the SD families."""
    if family.name != "flux":
        return {}
    out: dict[str, Any] = {name: getattr(cfg.model, name) for name in FLUX_SETTINGS}
    out["t5xxl_max_token_length"] = family.t5_length
    return {k: str(v) if not isinstance(v, (bool, float, int)) else v for k, v in out.items()}


def save_precision(cfg, precision) -> str:
    """The saved LoRA's number format: ``output.save_precision``, or when empty the run's training precision
    (``precision.mixed_precision``, the run's :class:`~lorakit.train.precision.Precision`: fp16, bf16 or float)."""
    if cfg.output.save_precision:
        return str(cfg.output.save_precision)
    trained = str(getattr(precision, "mixed_precision", "no"))
    return {"fp16": "fp16", "bf16": "bf16"}.get(trained, "float")


def write_lora(path: Path, run, *, epoch: int, step: int) -> Path:
    """Save the current adapter as a kohya LoRA with full metadata (atomically)."""
    cfg = run.cfg
    dtype = SAVE_DTYPES.get(save_precision(cfg, run.precision), None)
    tensors = run.network.kohya_state_dict(dtype)
    if hasattr(run.family, "lora_file_tensors"):  # Flux: sd-scripts' layout (fused qkv), lora/flux_keys.py
        tensors = run.family.lora_file_tensors(tensors)
    metadata = {}
    if not cfg.output.no_metadata:
        metadata = training_metadata(
            family=run.family,
            network=run.network,
            settings=training_settings(cfg, run.plan, run.optimizer) | flux_settings(cfg, run.family),
            dataset=run.dataset_meta,
            model_name=Path(str(cfg.model.pretrained_model_name_or_path)).name,
            model_hash=run.model_hash,
            output_name=cfg.output.output_name,
            epoch=epoch,
            steps=step,
            started_at=run.started_at,
            trigger_phrase=", ".join(cfg.output.trigger_words or []),
            title=cfg.output.metadata_title,
        )
        for key in ("author", "description", "license", "tags"):
            value = getattr(cfg.output, f"metadata_{key}", None)
            if value:
                metadata[f"modelspec.{key}"] = str(value)
        if cfg.output.training_comment:
            metadata["ss_training_comment"] = cfg.output.training_comment
    return save_lora_file(path, tensors, metadata)
