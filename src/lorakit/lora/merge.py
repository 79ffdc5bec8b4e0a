"""Merge several LoRAs, each with a weight, into one LoRA.

Exact mode stacks the ranks: for a module, ``up = [w₁·s₁·up₁, w₂·s₂·up₂, ...]`` and
``down = [down₁; down₂; ...]`` with alpha = total rank (scale 1), so ``up @ down`` is exactly
``Σ wᵢ·sᵢ·upᵢ @ downᵢ``, the sum of the weighted changes (sᵢ = alphaᵢ / rankᵢ). The rank grows to the sum
of the ranks. SVD mode then compresses that stack to a target rank (or a dynamic one) with the resize code.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from lorakit.events import Emitter
from lorakit.lora.modules import LoraFormatError, LoraModule, LoraState, module_tensors, require_known
from lorakit.lora.resize import ResizeReport, resize_state


@dataclass
class MergeInput:
    """One LoRA to merge: its modules, its weight (strength), and a label for messages."""

    state: LoraState
    weight: float = 1.0
    label: str = "LoRA"


def check_compatible(inputs: list[MergeInput]) -> str | None:
    """The shared architecture; mismatched bases or module shapes raise an error naming the files."""
    from lorakit.lora.convert import family_of

    # A file that names no family (no metadata, no telling keys) is left to the shape check below.
    archs = {item.label: family for item in inputs if (family := family_of(item.state))}
    if len(set(archs.values())) > 1:
        listed = ", ".join(f"{label} is {arch}" for label, arch in archs.items())
        raise LoraFormatError(
            f"These LoRAs were trained for different model families ({listed}); they cannot be merged.",
            "Merge only LoRAs made for the same base model family.",
        )
    shapes: dict[str, tuple[str, tuple]] = {}
    for item in inputs:
        for name, module in item.state.modules.items():
            full = tuple(module.delta_shape())
            shape = (full[0], math.prod(full[1:]))  # a conv's kernel may be flattened (LoHa, LoKr)
            seen = shapes.setdefault(name, (item.label, shape))
            if seen[1] != shape:
                raise LoraFormatError(
                    f"Module {name} has shape {seen[1]} in {seen[0]} but {shape} in {item.label}: "
                    "the LoRAs are for different model architectures.",
                    "Merge only LoRAs made for the same base model (e.g. all SDXL, or all SD1.5).",
                )
    return next(iter(archs.values()), None)


def concat_modules(inputs: list[MergeInput], dtype: torch.dtype = torch.float32) -> dict[str, LoraModule]:
    """The exact merge: stacked factors per module, alpha = the stacked rank."""
    names: list[str] = []
    for item in inputs:
        names.extend(n for n in item.state.modules if n not in names)
    merged: dict[str, LoraModule] = {}
    for name in names:
        ups, downs = [], []
        for item in inputs:
            module = item.state.modules.get(name)
            if module is None or item.weight == 0:
                continue
            if module.network_type != "lora" or "lora_mid.weight" in module.tensors:
                # LyCORIS modules have no up/down factors to stack: factor their change once, exactly.
                u, s, vh = torch.linalg.svd(module.delta().flatten(1), full_matrices=False)
                keep = int((s > s[0] * 1e-6).sum()) if float(s[0]) > 0 else 1
                up2d, down2d = u[:, :keep] * s[:keep] * item.weight, vh[:keep]
            else:
                up2d = module.tensors["lora_up.weight"].flatten(1).float() * (module.scale * item.weight)
                down2d = module.tensors["lora_down.weight"].flatten(1).float()
            ups.append(up2d)
            downs.append(down2d)
        if not ups:
            continue
        # A LoHa/LoKr conv may store its kernel flattened: the most specific shape any input gives wins.
        shape = max((i.state.modules[name].delta_shape() for i in inputs if name in i.state.modules), key=len)
        up, down = torch.cat(ups, dim=1), torch.cat(downs, dim=0)
        rank = up.shape[1]
        if len(shape) == 4:
            up, down = up.reshape(shape[0], rank, 1, 1), down.reshape(rank, *shape[1:])
        merged[name] = LoraModule(name, module_tensors(up, down, rank, dtype))
    return merged


def merge_states(
    inputs: list[MergeInput],
    *,
    rank: int | None = None,
    method: str | None = None,
    value: float | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float16,
    emitter: Emitter | None = None,
) -> tuple[LoraState, ResizeReport | None]:
    """Merge ``inputs``. No ``rank``/``method``: exact stacking. Otherwise SVD down to ``rank`` or dynamically."""
    if len(inputs) < 2:
        raise LoraFormatError("Merging needs at least two LoRAs.", "Pass two or more LoRA files.")
    from lorakit.lora.convert import normalize_names

    for item in inputs:
        require_known(item.state, item.label)
    inputs = [MergeInput(normalize_names(i.state), i.weight, i.label) for i in inputs]
    arch = check_compatible(inputs)
    stacked = LoraState(concat_modules(inputs, torch.float32), _merged_metadata(inputs, arch))
    if rank is None and method is None:
        return LoraState({n: _cast(m, dtype) for n, m in stacked.modules.items()}, stacked.metadata), None
    largest = max(m.rank for m in stacked.modules.values())
    method = method or "fixed"
    # The stack's own rank is the most SVD can keep; a larger request means "keep everything".
    merged, report = resize_state(
        stacked,
        rank=min(rank, largest) if rank else None,
        method=method,
        value=value,
        device=device,
        dtype=dtype,
        emitter=emitter,
    )
    merged.metadata.pop("lorakit_resize", None)
    return merged, report


def _cast(module: LoraModule, dtype: torch.dtype) -> LoraModule:
    return LoraModule(module.name, {k: v.to(dtype) for k, v in module.tensors.items()})


def _merged_metadata(inputs: list[MergeInput], arch: str | None) -> dict[str, str]:
    first = inputs[0].state.metadata
    meta = {
        k: v
        for k, v in first.items()
        if k.startswith(
            ("ss_base_model_version", "ss_v2", "ss_sd_model_name", "ss_resolution", "modelspec.architecture")
        )
    }
    tags: dict[str, dict[str, int]] = {}
    for item in inputs:
        raw = item.state.metadata.get("ss_tag_frequency")
        try:
            for folder, counts in (json.loads(raw) if raw else {}).items():
                bucket = tags.setdefault(f"{item.label}/{folder}", {})
                for tag, count in counts.items():
                    bucket[tag] = bucket.get(tag, 0) + int(count)
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
            continue
    if tags:
        meta["ss_tag_frequency"] = json.dumps(tags, ensure_ascii=False)
    meta["ss_network_module"] = "networks.lora"
    meta["ss_network_dim"] = "Dynamic"
    meta["ss_network_alpha"] = "Dynamic"
    meta["lorakit_merge"] = json.dumps(
        [
            {"name": i.label, "weight": i.weight, "sshs_model_hash": i.state.metadata.get("sshs_model_hash")}
            for i in inputs
        ]
    )
    meta["ss_training_comment"] = "merged by lorakit: " + ", ".join(f"{i.label} × {i.weight:g}" for i in inputs)
    version = {"sd1": "sd_v1", "sd2": "sd_v2", "sdxl": "sdxl_base_v1-0", "flux": "flux1"}.get(arch)
    if version:
        meta.setdefault("ss_base_model_version", version)
    return meta


def merge_lora_files(
    sources: list[tuple[str | os.PathLike, float]],
    output: str | os.PathLike,
    *,
    rank: int | None = None,
    method: str | None = None,
    value: float | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float16,
    emitter: Emitter | None = None,
) -> tuple[Path, ResizeReport | None]:
    """Merge LoRA files ``[(path, weight), ...]`` into ``output`` (kohya layout, fresh hashes)."""
    from lorakit.lora.convert import read_any
    from lorakit.lora.modules import write_lora

    inputs = [MergeInput(read_any(path), float(weight), Path(path).name) for path, weight in sources]
    merged, report = merge_states(
        inputs, rank=rank, method=method, value=value, device=device, dtype=dtype, emitter=emitter
    )
    return write_lora(output, merged.tensors(), merged.metadata), report
