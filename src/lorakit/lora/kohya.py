"""Kohya/A1111 LoRA files: write them with full ``ss_*`` metadata, ``sshs_*`` hashes and ``modelspec.*``,
and read them back.

The file is a safetensors of ``<module>.lora_down.weight``, ``<module>.lora_up.weight`` and
``<module>.alpha`` (the real alpha, not the rank), with every metadata value a string, as
ComfyUI, A1111/Forge, sd-scripts and diffusers expect. Writes are atomic: a full disk or a crash
leaves the previous file in place.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from lorakit.errors import ModelError
from lorakit.fileio import atomic_write_bytes
from lorakit.lora.lycoris_network import LYCORIS_KINDS, LYCORIS_MODULE
from lorakit.lora.lycoris_network import network_args as lycoris_args

SAVE_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "float": torch.float32, "fp32": torch.float32}


@dataclass
class LoraFile:
    """A LoRA file read back: its tensors by kohya key and its metadata (all strings)."""

    tensors: dict[str, torch.Tensor]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def modules(self) -> list[str]:
        return sorted({k.split(".", 1)[0] for k in self.tensors})

    def rank(self, module: str) -> int:
        return int(self.tensors[f"{module}.lora_down.weight"].shape[0])

    def alpha(self, module: str) -> float:
        value = self.tensors.get(f"{module}.alpha")
        return float(value) if value is not None else float(self.rank(module))


def _as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"  # sd-scripts writes Python's str(bool)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return "None" if value is None else str(value)


def training_metadata(
    *,
    family,
    network,
    settings: dict[str, Any],
    dataset: dict[str, Any],
    model_name: str,
    model_hash: str | None = None,
    output_name: str = "lora",
    epoch: int = 0,
    steps: int = 0,
    started_at: float | None = None,
    trigger_phrase: str = "",
    title: str | None = None,
) -> dict[str, str]:
    """The ``ss_*`` and ``modelspec.*`` metadata sd-scripts writes, from a run's facts.

    ``settings`` holds training values by sd-scripts name (learning_rate, optimizer_type, ...);
    ``dataset`` holds ``tag_frequency`` ({dir: {tag: n}}), ``dataset_dirs`` ({dir: {n_repeats, img_count}}),
    ``bucket_info``, ``num_train_images``, ``num_reg_images``, ``resolution``.
    """
    ns = network.settings
    args = {}
    if ns.kind in LYCORIS_KINDS:
        args = lycoris_args(ns)
    elif ns.kind == "locon" and ns.conv_rank:
        args = {"conv_dim": str(ns.conv_rank), "conv_alpha": str(ns.conv_alpha)}
    # The network_args sd-scripts would have been given (its net_kwargs, written as text the same way).
    for name, value in (("rank_dropout", ns.rank_dropout), ("module_dropout", ns.module_dropout)):
        if value:
            args[name] = str(value)
    blocks = ns.blocks
    for name, values in (
        ("block_dims", blocks.dims),
        ("block_alphas", blocks.alphas),
        ("conv_block_dims", blocks.conv_dims),
        ("conv_block_alphas", blocks.conv_alphas),
    ):
        if values is not None:
            args[name] = ",".join(f"{v:g}" for v in values)
    if family.name == "flux":  # sd-scripts' lora_flux network_args (models/families/flux.py)
        args.update({k: str(v) for k, v in family.network_args().items()})
    resolution = dataset.get("resolution", family.default_resolution)
    now = time.time()
    meta: dict[str, Any] = {
        "ss_network_module": (
            LYCORIS_MODULE
            if ns.kind in LYCORIS_KINDS
            else "networks.lora_flux"
            if family.name == "flux"
            else "networks.lora"
        ),
        "ss_network_dim": ns.rank,
        "ss_network_alpha": ns.alpha,
        "ss_network_dropout": ns.dropout,
        "ss_network_args": args,
        "ss_base_model_version": family.base_model_version,
        "ss_v2": family.is_v2,
        "ss_v_parameterization": family.prediction_type == "v_prediction",
        "ss_sd_model_name": model_name,
        "ss_output_name": output_name,
        "ss_epoch": epoch,
        "ss_steps": steps,
        "ss_training_started_at": started_at or now,
        "ss_training_finished_at": now,
        "ss_num_train_images": dataset.get("num_train_images", 0),
        "ss_num_reg_images": dataset.get("num_reg_images", 0),
        "ss_resolution": f"({resolution}, {resolution})",
        "ss_tag_frequency": dataset.get("tag_frequency", {}),
        "ss_dataset_dirs": dataset.get("dataset_dirs", {}),
        "ss_bucket_info": dataset.get("bucket_info", {}),
        "ss_training_comment": "trained with lorakit",
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": family.modelspec_architecture,
        "modelspec.implementation": "https://github.com/Stability-AI/generative-models"
        if family.name == "sdxl"
        else "https://github.com/black-forest-labs/flux"
        if family.name == "flux"
        else "diffusers",
        "modelspec.title": title or output_name,
        "modelspec.date": datetime.fromtimestamp(started_at or now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "modelspec.resolution": f"{resolution}x{resolution}",
        "modelspec.prediction_type": "v" if family.prediction_type == "v_prediction" else "epsilon",
    }
    if model_hash:
        meta["ss_sd_model_hash"] = model_hash
    if trigger_phrase:
        meta["modelspec.trigger_phrase"] = trigger_phrase
    for key, value in settings.items():
        meta[f"ss_{key}"] = value
    return {k: _as_string(v) for k, v in meta.items()}


def save_lora_file(
    path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
) -> Path:
    """Write a kohya LoRA atomically, adding ``sshs_model_hash``/``sshs_legacy_hash`` to the metadata."""
    import safetensors.torch

    from lorakit.models.hashes import sshs_hashes

    meta = {k: _as_string(v) for k, v in (metadata or {}).items()}
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    model_hash, legacy_hash = sshs_hashes(tensors, meta)
    meta["sshs_model_hash"] = model_hash
    meta["sshs_legacy_hash"] = legacy_hash
    path = Path(path)
    atomic_write_bytes(path, safetensors.torch.save(tensors, meta))
    return path


def load_lora_file(path: str | os.PathLike) -> LoraFile:
    """Read a kohya LoRA file (tensors + metadata). Only safetensors: pickle files are never opened."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.exists():
        raise ModelError(f"The LoRA file {path} does not exist.", "Check the path.")
    if path.suffix.lower() != ".safetensors":
        raise ModelError(
            f"{path.name} is not a .safetensors file; lorakit does not open pickle files.",
            "Convert it to .safetensors first (for example with `lorakit lora convert`).",
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelError(f"{path.name} is not a readable safetensors file ({error}).", "Re-download it.") from error
    return LoraFile(tensors, metadata)
