"""A config from the ``ss_*`` metadata sd-scripts (and lorakit) write into a LoRA file, as far as it goes.

The metadata records most training settings as strings (``"None"`` when unset) but not everything:
no sample settings, no bucket steps, and datasets only as folder names with repeats. The values are
imported like a config.toml (so a missing key means sd-scripts' default, which is what that run used).
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path
from typing import Any

from lorakit.config import kohya as k
from lorakit.config.dataset import AugmentOptions, CaptionOptions, parse_repeat_folder
from lorakit.errors import ConfigError

_SUBSET_OPTIONS = tuple(CaptionOptions.model_fields) + tuple(AugmentOptions.model_fields)

# ss_base_model_version -> family
_FAMILIES = {"sd_v1": "sd1", "sd_v2": "sd2", "sd_v2_v": "sd2-v", "flux1": "flux"}


def _int(text: str) -> int:
    return int(float(text))


def _bool(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes")


# ss_* key -> (sd-scripts argument, parser): the value is then imported like a config.toml entry.
_SIMPLE: dict[str, tuple[str, Any]] = {
    "ss_learning_rate": ("learning_rate", float),
    "ss_unet_lr": ("unet_lr", float),
    "ss_lr_warmup_steps": ("lr_warmup_steps", float),
    "ss_lr_scheduler": ("lr_scheduler", str),
    "ss_max_train_steps": ("max_train_steps", _int),
    "ss_num_epochs": ("max_train_epochs", _int),
    "ss_batch_size_per_device": ("train_batch_size", _int),
    "ss_gradient_accumulation_steps": ("gradient_accumulation_steps", _int),
    "ss_seed": ("seed", _int),
    "ss_clip_skip": ("clip_skip", _int),
    "ss_noise_offset": ("noise_offset", float),
    "ss_adaptive_noise_scale": ("adaptive_noise_scale", float),
    "ss_multires_noise_iterations": ("multires_noise_iterations", _int),
    "ss_multires_noise_discount": ("multires_noise_discount", float),
    "ss_min_snr_gamma": ("min_snr_gamma", float),
    "ss_ip_noise_gamma": ("ip_noise_gamma", float),
    "ss_debiased_estimation": ("debiased_estimation_loss", _bool),
    "ss_zero_terminal_snr": ("zero_terminal_snr", _bool),
    "ss_scale_v_pred_loss_like_noise_pred": ("scale_v_pred_loss_like_noise_pred", _bool),
    "ss_min_timestep": ("min_timestep", _int),
    "ss_max_timestep": ("max_timestep", _int),
    "ss_loss_type": ("loss_type", str),
    "ss_huber_schedule": ("huber_schedule", str),
    "ss_huber_c": ("huber_c", float),
    "ss_mixed_precision": ("mixed_precision", str),
    "ss_full_fp16": ("full_fp16", _bool),
    "ss_gradient_checkpointing": ("gradient_checkpointing", _bool),
    "ss_cache_latents": ("cache_latents", _bool),
    "ss_max_grad_norm": ("max_grad_norm", float),
    "ss_network_module": ("network_module", str),
    "ss_network_dim": ("network_dim", _int),
    "ss_network_alpha": ("network_alpha", float),
    "ss_network_dropout": ("network_dropout", float),
    "ss_scale_weight_norms": ("scale_weight_norms", float),
    "ss_prior_loss_weight": ("prior_loss_weight", float),
    "ss_enable_bucket": ("enable_bucket", _bool),
    "ss_min_bucket_reso": ("min_bucket_reso", _int),
    "ss_max_bucket_reso": ("max_bucket_reso", _int),
    "ss_bucket_no_upscale": ("bucket_no_upscale", _bool),
    "ss_flip_aug": ("flip_aug", _bool),
    "ss_color_aug": ("color_aug", _bool),
    "ss_random_crop": ("random_crop", _bool),
    "ss_shuffle_caption": ("shuffle_caption", _bool),
    "ss_keep_tokens": ("keep_tokens", _int),
    "ss_caption_dropout_rate": ("caption_dropout_rate", float),
    "ss_caption_dropout_every_n_epochs": ("caption_dropout_every_n_epochs", _int),
    "ss_caption_tag_dropout_rate": ("caption_tag_dropout_rate", float),
    "ss_max_token_length": ("max_token_length", _int),
    "ss_output_name": ("output_name", str),
    "ss_training_comment": ("training_comment", str),
    "ss_sd_model_name": ("pretrained_model_name_or_path", str),
    "ss_vae_name": ("vae", str),
    "ss_v2": ("v2", _bool),
    "ss_v_parameterization": ("v_parameterization", _bool),
    "ss_guidance_scale": ("guidance_scale", float),
    "ss_timestep_sampling": ("timestep_sampling", str),
    "ss_sigmoid_scale": ("sigmoid_scale", float),
    "ss_discrete_flow_shift": ("discrete_flow_shift", float),
    "ss_model_prediction_type": ("model_prediction_type", str),
    "ss_apply_t5_attn_mask": ("apply_t5_attn_mask", _bool),
    "ss_noise_offset_random_strength": ("noise_offset_random_strength", _bool),
    "ss_ip_noise_gamma_random_strength": ("ip_noise_gamma_random_strength", _bool),
    "ss_fp8_base": ("fp8_base", _bool),
    "ss_validation_split": ("validation_split", float),
    "ss_validate_every_n_steps": ("validate_every_n_steps", _int),
    "ss_validate_every_n_epochs": ("validate_every_n_epochs", _int),
}
# Recorded facts about the finished run, not settings.
_FACTS = {
    "ss_epoch",
    "ss_steps",
    "ss_num_train_images",
    "ss_num_reg_images",
    "ss_num_batches_per_epoch",
    "ss_training_started_at",
    "ss_training_finished_at",
    "ss_session_id",
    "ss_tag_frequency",
    "ss_bucket_info",
    "ss_sd_model_hash",
    "ss_new_sd_model_hash",
    "ss_vae_hash",
    "ss_new_vae_hash",
    "ss_sd_scripts_commit_hash",
    "ss_datasets",
    "ss_total_batch_size",
    "sshs_model_hash",
    "sshs_legacy_hash",
    "ss_base_model_version",
    "ss_network_args",
    "ss_optimizer",
    "ss_text_encoder_lr",
    "ss_resolution",
    "ss_dataset_dirs",
    "ss_face_crop_aug_range",
    "ss_lowram",
    "ss_reg_dataset_dirs",
    "ss_num_validation_images",
    "ss_validation_seed",
    "ss_max_validation_steps",
    "ss_huber_scale",
    "ss_resize_interpolation",
    "ss_fp8_base_unet",
}


def _missing(text: str | None) -> bool:
    return text is None or text.strip() in ("", "None", "null")


def read_safetensors_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``__metadata__`` of a .safetensors file, read from its JSON header only (no tensors loaded)."""
    p = Path(path).expanduser()
    try:
        with open(p, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if size > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(f.read(size))
    except FileNotFoundError:
        raise ConfigError(f"The LoRA file {p} does not exist.", "Check the path.") from None
    except (struct.error, ValueError, UnicodeDecodeError):
        raise ConfigError(f"{p} is not a readable .safetensors file.", "Give a LoRA .safetensors file.") from None
    metadata = header.get("__metadata__") or {}
    return {str(key): str(value) for key, value in metadata.items()}


def _optimizer(text: str, args: dict[str, Any]) -> None:
    # e.g. "bitsandbytes.optim.adamw.AdamW8bit(weight_decay=0.01,betas=(0.9, 0.99))" or "prodigyopt.prodigy.Prodigy"
    match = re.match(r"^([\w.]+)(?:\((.*)\))?$", text.strip())
    if not match:
        return
    cls = match.group(1).rsplit(".", 1)[-1]
    args["optimizer_type"] = {"dadaptadamprepint": "DAdaptAdam"}.get(cls.lower(), cls)
    if match.group(2):
        # Split on commas outside parentheses: "betas=(0.9, 0.99)" stays whole.
        parts = re.split(r",(?![^()]*\))", match.group(2))
        args["optimizer_args"] = [part.strip().replace(" ", "") for part in parts if "=" in part]


def _subset(name: str, info: dict[str, Any]) -> dict[str, Any]:
    subset: dict[str, Any] = {"image_dir": name, "num_repeats": int(info.get("n_repeats", 1))}
    parsed = parse_repeat_folder(Path(name).name)
    if parsed is not None and parsed[1]:
        subset["class_tokens"] = parsed[1]  # sd-scripts' folder mode took class tokens from the name
    return subset


# Per-subset options that ss_datasets records.
_SUBSET_KEYS = (
    "num_repeats",
    "class_tokens",
    "is_reg",
    "color_aug",
    "flip_aug",
    "random_crop",
    "shuffle_caption",
    "keep_tokens",
    "keep_tokens_separator",
    "secondary_separator",
    "enable_wildcard",
    "caption_prefix",
    "caption_suffix",
)
_DATASET_KEYS = ("resolution", "enable_bucket", "min_bucket_reso", "max_bucket_reso")


def _datasets(metadata: dict[str, str], args: dict[str, Any], notes: list[str]) -> dict[str, Any] | None:
    """A dataset TOML-like dict from ``ss_datasets`` (written with a dataset config) or, failing that, the
    folder names in ``ss_dataset_dirs`` / ``ss_reg_dataset_dirs``."""
    datasets = []
    try:
        for recorded in json.loads(metadata.get("ss_datasets") or "[]"):
            table = {key: recorded[key] for key in _DATASET_KEYS if recorded.get(key) is not None}
            if "batch_size_per_device" in recorded:
                table["batch_size"] = recorded["batch_size_per_device"]
            table["subsets"] = [
                {"image_dir": s.get("image_dir") or "unknown"}
                | {k: s[k] for k in _SUBSET_KEYS if s.get(k) is not None}
                for s in recorded.get("subsets", [])
            ]
            datasets.append(table)
    except (json.JSONDecodeError, AttributeError, TypeError):
        notes.append("ss_datasets could not be read; using the folder names in ss_dataset_dirs.")
        datasets = []
    if not datasets:
        subsets = []
        for key, is_reg in (("ss_dataset_dirs", False), ("ss_reg_dataset_dirs", True)):
            try:
                dirs = json.loads(metadata.get(key) or "{}")
                subsets += [_subset(name, info) | ({"is_reg": True} if is_reg else {}) for name, info in dirs.items()]
            except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
                notes.append(f"{key} could not be read; add those image folders as subsets.")
        if not subsets:
            return None
        datasets = [{"subsets": subsets}]
    # Dataset-level values recorded at the top (ss_resolution, ss_flip_aug, ...) are the fallback layer.
    moved = {key: args.pop(key) for key in (*k.DATASET_KEYS, *_SUBSET_OPTIONS) if key in args}
    notes.append(
        "Subsets come from the LoRA's metadata, which records only folder names: set each image_dir to the"
        " folder on this computer."
    )
    return {"general": moved, "datasets": datasets}


def build(metadata: dict[str, str]) -> k.ImportResult:
    """A config from ``ss_*`` metadata; see the module docstring."""
    from lorakit.config.kohya_import import build as from_kohya_dicts

    if not any(key.startswith("ss_") for key in metadata):
        raise ConfigError(
            "This LoRA has no sd-scripts training metadata (no ss_* keys), so its settings cannot be recovered.",
            "Start from a preset instead: `lorakit config new --preset NAME`.",
        )
    notes: list[str] = []
    args: dict[str, Any] = {}
    for key, (name, parse) in _SIMPLE.items():
        text = metadata.get(key)
        if _missing(text):
            continue
        try:
            args[name] = parse(text)
        except (ValueError, OverflowError):
            notes.append(f"{key} = {text!r} could not be read and was skipped.")

    version = metadata.get("ss_base_model_version", "")
    family = "sdxl" if version.startswith("sdxl") else _FAMILIES.get(version, "")
    if not _missing(metadata.get("ss_network_args")):
        try:
            net_args = json.loads(metadata["ss_network_args"])
            args["network_args"] = [f"{key}={value}" for key, value in net_args.items()]
        except (json.JSONDecodeError, AttributeError):
            notes.append("ss_network_args is not JSON and was skipped.")
    te = metadata.get("ss_text_encoder_lr")
    if te is not None and not _missing(te):
        try:
            args["text_encoder_lr"] = json.loads(te) if te.strip().startswith("[") else float(te)
        except ValueError:
            notes.append(f"ss_text_encoder_lr = {te!r} could not be read.")
    if not _missing(metadata.get("ss_resolution")):
        sides = [int(n) for n in re.findall(r"\d+", metadata["ss_resolution"])]
        if sides:
            args["resolution"] = sides if len(sides) == 2 else sides[0]
    if not _missing(metadata.get("ss_face_crop_aug_range")):
        values = [float(n) for n in re.findall(r"[\d.]+", metadata["ss_face_crop_aug_range"])]
        if len(values) == 2:
            args["face_crop_aug_range"] = values
    if not _missing(metadata.get("ss_optimizer")):
        _optimizer(metadata["ss_optimizer"], args)

    dataset = _datasets(metadata, args, notes)
    result = from_kohya_dicts(args, dataset, {"model": {"family": family}} if family else None)
    unknown = sorted(key for key in metadata if key.startswith("ss_") and key not in _SIMPLE and key not in _FACTS)
    if unknown:
        notes.append(f"Metadata not turned into settings: {', '.join(unknown)}")
    notes.append("LoRA metadata does not record sample settings, bucket steps or the caption extension.")
    return k.ImportResult(result.config, result.notes + notes)
