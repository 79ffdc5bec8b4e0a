"""Extract a LoRA from a fine-tuned checkpoint: the SVD of (tuned − base), per layer, kept to a rank.

Both checkpoints are single-file safetensors in the original layout (see :mod:`lorakit.lora.bake` for the
key mapping). Layers are the ones kohya LoRAs train: the UNet's attention/transformer layers and the text
encoders' attention and MLP layers, plus the ResNet convolutions when a ``conv_rank`` is given. As in
sd-scripts' extractor, factor values beyond the ``clamp_quantile`` of their distribution are clipped,
which keeps rare outliers from dominating a low-rank fit (1.0 turns it off).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from lorakit.events import PROGRESS, Emitter
from lorakit.lora.bake import checkpoint_arch, targets
from lorakit.lora.modules import LoraFormatError, module_tensors
from lorakit.lora.resize import choose_rank

_LINEAR_WORDS = ("transformer_blocks", "proj_in", "proj_out", "self_attn", "mlp_fc")
_CONV_WORDS = ("in_layers_2", "out_layers_3", "skip_connection", "_op", "_conv", "_conv1", "_conv2", "_conv_shortcut")
_QUANTILE_SAMPLE = 1 << 22  # torch.quantile refuses very large inputs; a sample estimates it well


def _wanted(name: str, shape: tuple[int, ...], conv: bool) -> bool:
    if len(shape) == 2 or (len(shape) == 4 and shape[2:] == (1, 1)):
        return any(word in name for word in _LINEAR_WORDS)
    return conv and len(shape) == 4 and name.startswith("lora_unet") and name.endswith(_CONV_WORDS)


def _module_names(keys, arch: str, unet_config: dict | None) -> dict[str, tuple[str, int | None]]:
    """kohya name -> (checkpoint key, q/k/v third): the naming kohya uses for this architecture."""
    found = targets(keys, arch, unet_config)
    sgm_named = {name for name in found if name.startswith("lora_unet_") and _is_sgm(name)}
    if arch == "sdxl":
        return {n: t for n, t in found.items() if not n.startswith("lora_unet_") or n in sgm_named}
    # SD1/SD2 name UNet modules the diffusers way; keep an SGM name only where no diffusers twin exists.
    twins = {t for n, t in found.items() if n.startswith("lora_unet_") and n not in sgm_named}
    return {n: t for n, t in found.items() if n not in sgm_named or t not in twins}


def _is_sgm(name: str) -> bool:
    return name.startswith(
        (
            "lora_unet_input_blocks",
            "lora_unet_middle_block",
            "lora_unet_output_blocks",
            "lora_unet_time_embed",
            "lora_unet_label_emb",
            "lora_unet_out_",
        )
    )


def low_rank_factors(
    diff: torch.Tensor, rank: int, method: str = "fixed", value: float | None = None, clamp_quantile: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(up, down, retained Frobenius fraction) of a 2-D difference, up @ down ≈ diff."""
    u, s, vh = torch.linalg.svd(diff.float(), full_matrices=False)
    k = choose_rank(s, method, value, min(rank, len(s)))
    # Directions at float32 rounding level carry no change: keeping them only makes the file bigger.
    k = max(1, min(k, int((s > s[0] * 1e-5).sum())))
    up, down = u[:, :k] * s[:k], vh[:k]
    if clamp_quantile < 1.0:
        values = torch.cat([up.flatten(), down.flatten()]).abs()
        if values.numel() > _QUANTILE_SAMPLE:
            values = values[
                torch.randperm(values.numel(), generator=torch.Generator().manual_seed(0))[:_QUANTILE_SAMPLE]
            ]
        limit = float(torch.quantile(values, clamp_quantile))
        up, down = up.clamp(-limit, limit), down.clamp(-limit, limit)
    energy = s.double().square()
    kept = float((energy[:k].sum() / energy.sum()).sqrt()) if float(energy.sum()) > 0 else 1.0
    return up, down, kept


def extract_lora(
    base: str | os.PathLike,
    tuned: str | os.PathLike,
    output: str | os.PathLike,
    *,
    rank: int = 32,
    conv_rank: int | None = None,
    method: str = "fixed",
    value: float | None = None,
    clamp_quantile: float = 0.99,
    min_diff: float = 1e-6,
    text_encoder: bool = True,
    device: str = "cpu",
    dtype: torch.dtype = torch.float16,
    unet_config: dict | None = None,
    emitter: Emitter | None = None,
) -> dict:
    """Write the LoRA that turns ``base`` into (approximately) ``tuned``; return a summary per module."""
    from safetensors import safe_open

    from lorakit.lora.modules import write_lora

    for path in (base, tuned):
        if Path(path).suffix.lower() != ".safetensors" or not Path(path).is_file():
            raise LoraFormatError(
                f"{path} is not a .safetensors checkpoint file.", "Pass two .safetensors checkpoints."
            )
    if rank < 1 or (conv_rank is not None and conv_rank < 1):
        raise LoraFormatError("Ranks must be 1 or more.", "Use e.g. --rank 32 --conv-rank 16.")
    from lorakit.models.header import read_header

    for path in (base, tuned):
        read_header(path)  # a pickle or a damaged file under a .safetensors name: refused in plain words
    with safe_open(str(base), framework="pt") as fb, safe_open(str(tuned), framework="pt") as ft:
        base_keys, tuned_keys = set(fb.keys()), set(ft.keys())
        arch, tuned_arch = checkpoint_arch(base_keys), checkpoint_arch(tuned_keys)
        if arch != tuned_arch:
            raise LoraFormatError(
                f"The base is an {arch} checkpoint but the fine-tuned one is {tuned_arch}.",
                "Extract only from a fine-tune of the same base model family.",
            )
        names = _module_names(base_keys & tuned_keys, arch, unet_config)
        tensors: dict[str, torch.Tensor] = {}
        summary: dict[str, dict] = {}
        cache: dict[str, torch.Tensor] = {}
        items = sorted(names.items())
        for done, (name, (key, third)) in enumerate(items, start=1):
            if not text_encoder and not name.startswith("lora_unet"):
                continue
            shape = tuple(fb.get_slice(key).get_shape())
            if third is not None:
                shape = (shape[0] // 3, *shape[1:])
            if not _wanted(name, shape, conv_rank is not None):
                continue
            if key not in cache:
                cache.clear()  # q/k/v thirds of one key come one after another in sorted order
                cache[key] = ft.get_tensor(key).to(device, torch.float32) - fb.get_tensor(key).to(
                    device, torch.float32
                )
            diff = cache[key]
            if third is not None:
                diff = diff[third * shape[0] : (third + 1) * shape[0]]
            if tuple(ft.get_slice(key).get_shape()) != tuple(fb.get_slice(key).get_shape()):
                raise LoraFormatError(
                    f"{key} has different shapes in the two checkpoints.",
                    "The fine-tune must share the base model's architecture.",
                )
            if float(diff.abs().max()) <= min_diff:
                continue
            is_conv3 = len(shape) == 4 and shape[2:] != (1, 1)
            up, down, kept = low_rank_factors(
                diff.flatten(1), conv_rank if is_conv3 else rank, method, value, clamp_quantile
            )
            k = up.shape[1]
            if len(shape) == 4:
                up, down = up.reshape(shape[0], k, 1, 1), down.reshape(k, *shape[1:])
            # alpha = rank: scale 1, so the factors hold the change as it is.
            for suffix, tensor in module_tensors(up.cpu(), down.cpu(), k, dtype).items():
                tensors[f"{name}.{suffix}"] = tensor
            summary[name] = {"rank": k, "retained_fro": kept}
            if emitter and done % 50 == 0:
                emitter.emit(PROGRESS, done=done, total=len(items), unit="layers")
    if not tensors:
        raise LoraFormatError(
            "The two checkpoints have the same weights in every layer a LoRA trains: there is nothing to extract.",
            "Check that the second file is the fine-tuned model.",
        )
    ranks = {v["rank"] for v in summary.values()}
    metadata = {
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(ranks.pop()) if len(ranks) == 1 else "Dynamic",
        "ss_network_alpha": "Dynamic",
        "ss_base_model_version": {"sd1": "sd_v1", "sd2": "sd_v2", "sdxl": "sdxl_base_v1-0"}[arch],
        "ss_sd_model_name": Path(base).name,
        "ss_training_comment": f"extracted by lorakit from {Path(tuned).name} − {Path(base).name}",
        "lorakit_extract": json.dumps(
            {
                "base": Path(base).name,
                "tuned": Path(tuned).name,
                "rank": rank,
                "conv_rank": conv_rank,
                "method": method,
                "value": value,
                "clamp_quantile": clamp_quantile,
            }
        ),
    }
    if conv_rank:
        metadata["ss_network_args"] = json.dumps({"conv_dim": conv_rank, "conv_alpha": conv_rank})
    write_lora(output, tensors, metadata)
    return summary
