"""Config test fixtures: a config with every field set away from its default, and small dataset folders."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest

from lorakit.config.catalog import FieldSpec, top_fields

# Fields that cannot differ from their default.
SAME_AS_DEFAULT = {
    "config_version",
    "output.save_model_as",
    "logging.wandb_api_key",
    "logging.huggingface_token",
    "dataset.train_data_dir",
    "dataset.reg_data_dir",
}

# Values for fields whose type alone does not give a good non-default (or that need a specific one).
SPECIAL: dict[str, Any] = {
    "config_version": 1,  # the only valid version today; compared separately
    "model.family": "sdxl",
    "model.v_parameterization": True,
    "output.save_model_as": "safetensors",  # the only choice: lorakit writes no pickle formats
    "dataset.resolution": [1024, 768],
    "dataset.subsets": [
        {"image_dir": "/data/10_ohwx", "num_repeats": 10, "class_tokens": "ohwx woman", "name": "main"},
        {
            "image_dir": "/data/reg",
            "num_repeats": 2,
            "is_reg": True,
            "class_tokens": "woman",
            "name": "regularization",
            "caption_extension": ".caption",
            "shuffle_caption": False,
            "keep_tokens": 2,
            "keep_tokens_separator": "|||",
            "secondary_separator": ";;;",
            "caption_prefix": "photo of ",
            "caption_suffix": ", 4k",
            "caption_dropout_rate": 0.2,
            "caption_dropout_every_n_epochs": 3,
            "caption_tag_dropout_rate": 0.3,
            "token_warmup_min": 2,
            "token_warmup_step": 0.5,
            "enable_wildcard": True,
            "flip_aug": False,
            "color_aug": True,
            "random_crop": True,
            "face_crop_aug_range": [2.0, 4.0],
            "alpha_mask": True,
        },
    ],
    "dataset.train_data_dir": None,  # subsets and train_data_dir exclude each other; folder mode is tested apart
    "dataset.reg_data_dir": None,
    "dataset.face_crop_aug_range": [1.5, 3.0],
    "dataset.min_bucket_reso": 320,
    "dataset.max_bucket_reso": 1536,
    "dataset.bucket_reso_steps": 32,
    "captions.max_token_length": 225,
    "learning.lr_scheduler": "cosine_with_min_lr",  # sd-scripts floors only this one (and warmup_stable_decay)
    "learning.lr_warmup_steps": 0.1,
    "learning.lr_decay_steps": 200,
    "learning.lr_scheduler_args": {"T_mult": 2, "eta_min": 1e-6},
    "optimizer.optimizer_type": "Prodigy",
    "optimizer.betas": [0.9, 0.99],
    "optimizer.optimizer_args": {"decouple": True, "d_coef": 2.0, "use_bias_correction": True},
    "network.type": "lokr",
    "network.factor": 8,
    "network.extra_args": {"preset": "attn-mlp", "rank_dropout_scale": True},
    "network.block_dims": [4, 8, 16],
    "network.block_alphas": [2.0, 4.0, 8.0],
    "network.conv_block_dims": [2, 4],
    "network.conv_block_alphas": [1.0, 2.0],
    "network.down_lr_weight": [0.5, 1.0],
    "network.up_lr_weight": [1.0, 0.5],
    "network.target_modules": ["to_q", "to_v"],
    "network.base_weights": ["/loras/base.safetensors"],
    "network.base_weights_multiplier": [0.7],
    "memory.mixed_precision": "fp16",
    "memory.attention": "xformers",
    "samples.sample_prompts": "/prompts.txt",
    "samples.sample_sampler": "k_euler_a",
    "logging.log_with": "wandb",
    "logging.wandb_api_key": None,  # secrets are never exported: left unset here, tested apart
    "logging.huggingface_token": None,
    "logging.huggingface_repo_visibility": "public",
    "multigpu.zero_stage": 3,
    "multigpu.main_process_ip": "10.0.0.2",
}


def _non_default(spec: FieldSpec) -> Any:
    if spec.path in SPECIAL:
        return SPECIAL[spec.path]
    annotation = spec.info.annotation
    default = spec.info.get_default(call_default_factory=True)
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = args[0]
    origin = get_origin(annotation)
    low = next(
        (
            getattr(m, "ge", None) or getattr(m, "gt", None)
            for m in spec.info.metadata
            if getattr(m, "ge", None) is not None or getattr(m, "gt", None) is not None
        ),
        None,
    )
    if origin is Literal:
        return next(choice for choice in get_args(annotation) if choice != default)
    if annotation is bool:
        return not default
    if annotation is int:
        return (default or int(low or 0)) + 3
    if annotation is float:
        return round((default or 0.0) / 2 + 0.125, 4) if default else 0.25
    if annotation is str:
        return f"{spec.name}-value"
    if annotation is Path:
        return f"/paths/{spec.name}"
    if origin is list:
        return [f"{spec.name}-item"]
    raise AssertionError(f"no non-default value rule for {spec.path} ({spec.info.annotation})")


def every_field_data() -> dict[str, Any]:
    """A raw config (as from TOML) where every field differs from its default (secrets aside)."""
    data: dict[str, Any] = {}
    for spec in top_fields():
        value = _non_default(spec)
        if spec.section:
            data.setdefault(spec.section, {})[spec.name] = value
        else:
            data[spec.name] = value
    return data


@pytest.fixture
def every_field():
    from lorakit.config.io import config_from_dict

    return config_from_dict(every_field_data())


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """A folder with two tiny PNG images and their captions."""
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.new("RGB", (8, 8), (i * 100, 0, 0)).save(folder / f"img{i}.png")
        (folder / f"img{i}.txt").write_text("ohwx, 1girl, smile")
    return folder
