"""Flux LoRA key layouts: diffusers module names (how the network trains) ↔ sd-scripts' BFL names (the file).

sd-scripts' ``networks/lora_flux.py`` names modules after the original (BFL) Flux code:
``lora_unet_double_blocks_N_img_attn_qkv`` (one fused Linear for q, k, v), ``..._img_attn_proj``,
``..._img_mlp_0`` / ``_2``, ``..._img_mod_lin``, the same with ``txt_``, and ``lora_unet_single_blocks_N_linear1``
(q, k, v and the MLP input fused), ``..._linear2``, ``..._modulation_lin``; ``lora_te1_`` CLIP-L, ``lora_te3_`` T5.
diffusers splits the fused layers (``attn.to_q`` / ``to_k`` / ``to_v``; single blocks also ``proj_mlp``).

Fusing (network → file): the parts' downs are stacked and their ups placed block-diagonally, so the fused module
(rank = the sum of the parts' ranks, alpha scaled with it) applies exactly the parts' changes. Splitting (file →
network): a block-diagonal file (ours, or sd-scripts' ``split_qkv``) gives each part its own down and up block;
a plain fused LoRA (one shared down) gives every part that down and its rows of the up. The mapping follows
diffusers' ``_convert_kohya_flux_lora_to_diffusers``; the code is our own.
"""

from __future__ import annotations

import re

import torch

UNET = "lora_unet_"
MLP_RATIO = 4  # Flux's MLP width: 4 × the model width (single blocks' linear1 = 3D q/k/v + 4D MLP)

# diffusers path inside a block (underscored) → (BFL name inside the block, part index, number of parts)
DOUBLE = {
    "attn_to_q": ("img_attn_qkv", 0, 3),
    "attn_to_k": ("img_attn_qkv", 1, 3),
    "attn_to_v": ("img_attn_qkv", 2, 3),
    "attn_to_out_0": ("img_attn_proj", 0, 1),
    "ff_net_0_proj": ("img_mlp_0", 0, 1),
    "ff_net_2": ("img_mlp_2", 0, 1),
    "norm1_linear": ("img_mod_lin", 0, 1),
    "attn_add_q_proj": ("txt_attn_qkv", 0, 3),
    "attn_add_k_proj": ("txt_attn_qkv", 1, 3),
    "attn_add_v_proj": ("txt_attn_qkv", 2, 3),
    "attn_to_add_out": ("txt_attn_proj", 0, 1),
    "ff_context_net_0_proj": ("txt_mlp_0", 0, 1),
    "ff_context_net_2": ("txt_mlp_2", 0, 1),
    "norm1_context_linear": ("txt_mod_lin", 0, 1),
}
SINGLE = {
    "attn_to_q": ("linear1", 0, 4),
    "attn_to_k": ("linear1", 1, 4),
    "attn_to_v": ("linear1", 2, 4),
    "proj_mlp": ("linear1", 3, 4),
    "proj_out": ("linear2", 0, 1),
    "norm_linear": ("modulation_lin", 0, 1),
}
_DIFFUSERS = re.compile(r"^lora_unet_(transformer_blocks|single_transformer_blocks)_(\d+)_(.+)$")
_BFL = re.compile(r"^lora_unet_(double_blocks|single_blocks)_(\d+)_(.+)$")


def bfl_name(diffusers_name: str) -> tuple[str, int, int] | None:
    """``lora_unet_transformer_blocks_3_attn_to_k`` → (``lora_unet_double_blocks_3_img_attn_qkv``, 1, 3)."""
    m = _DIFFUSERS.match(diffusers_name)
    if m is None:
        return None
    kind, index, inner = m.groups()
    table, block = (DOUBLE, "double_blocks") if kind == "transformer_blocks" else (SINGLE, "single_blocks")
    if inner not in table:
        return None
    name, part, parts = table[inner]
    return f"{UNET}{block}_{index}_{name}", part, parts


def diffusers_names(bfl: str) -> list[str] | None:
    """The diffusers module names of one BFL module, in part order (3 for a qkv, 4 for linear1)."""
    m = _BFL.match(bfl)
    if m is None:
        return None
    kind, index, inner = m.groups()
    table, block = (DOUBLE, "transformer_blocks") if kind == "double_blocks" else (SINGLE, "single_transformer_blocks")
    found = sorted((part, d) for d, (name, part, _) in table.items() if name == inner)
    return [f"{UNET}{block}_{index}_{d}" for _, d in found] or None


def _modules(tensors: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    out: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        name, _, suffix = key.partition(".")
        out.setdefault(name, {})[suffix] = value
    return out


def _alpha(factors: dict[str, torch.Tensor]) -> float:
    rank = factors["lora_down.weight"].shape[0]
    return float(factors["alpha"]) if "alpha" in factors else float(rank)


def _part_sizes(parts: int, present: dict[int, torch.Tensor]) -> list[int]:
    """Output rows of each part of a fused layer; missing parts' sizes follow from the present ones."""
    if parts == 3:
        size = next(iter(present.values())).shape[0]
        return [size] * 3
    width = next((up.shape[0] for i, up in present.items() if i < 3), None)
    if width is None:
        width = present[3].shape[0] // MLP_RATIO
    return [width, width, width, width * MLP_RATIO]


def to_sd_scripts(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Network tensors with diffusers module names → sd-scripts' Flux layout (fused qkv / linear1)."""
    out: dict[str, torch.Tensor] = {}
    fused: dict[str, dict[int, dict[str, torch.Tensor]]] = {}
    counts: dict[str, int] = {}
    for name, factors in _modules(tensors).items():
        target = bfl_name(name)
        if target is None:
            out.update({f"{name}.{k}": v for k, v in factors.items()})  # text encoders and anything else
            continue
        bfl, part, parts = target
        if parts == 1:
            out.update({f"{bfl}.{k}": v for k, v in factors.items()})
            continue
        fused.setdefault(bfl, {})[part] = factors
        counts[bfl] = parts
    for bfl, by_part in fused.items():
        order = sorted(by_part)
        first = by_part[order[0]]
        dtype = first["lora_up.weight"].dtype
        scale0 = _alpha(first) / first["lora_down.weight"].shape[0]
        sizes = _part_sizes(counts[bfl], {i: f["lora_up.weight"] for i, f in by_part.items()})
        ranks = [by_part[i]["lora_down.weight"].shape[0] for i in order]
        up = torch.zeros(sum(sizes), sum(ranks), dtype=dtype)
        col = 0
        for i, rank in zip(order, ranks, strict=True):
            f = by_part[i]
            row = sum(sizes[:i])
            ratio = (_alpha(f) / rank) / scale0  # 1 unless the parts were trained at different scales
            up[row : row + sizes[i], col : col + rank] = (f["lora_up.weight"].float() * ratio).to(dtype)
            col += rank
        out[f"{bfl}.lora_down.weight"] = torch.cat([by_part[i]["lora_down.weight"] for i in order]).contiguous()
        out[f"{bfl}.lora_up.weight"] = up
        out[f"{bfl}.alpha"] = torch.tensor(scale0 * sum(ranks), dtype=first.get("alpha", torch.tensor(0.0)).dtype)
    return out


def _block_sparse(up: torch.Tensor, sizes: list[int], rank: int) -> bool:
    """True when each part's rows use only its own ``rank`` columns (a fused file made from split parts)."""
    row = 0
    for j, size in enumerate(sizes):
        rows = up[row : row + size]
        for k in range(len(sizes)):
            if k != j and torch.count_nonzero(rows[:, k * rank : (k + 1) * rank]):
                return False
        row += size
    return True


def from_sd_scripts(tensors: dict[str, torch.Tensor], config: dict | None = None) -> dict[str, torch.Tensor]:
    """sd-scripts' Flux layout → network tensors with diffusers module names (other keys pass unchanged).

    ``config`` (the transformer's) gives the model width for single blocks' linear1 split; without it the
    width is the fused output over 7 (3 × D for q/k/v + 4 × D for the MLP).
    """
    out: dict[str, torch.Tensor] = {}
    for name, factors in _modules(tensors).items():
        parts = diffusers_names(name)
        if parts is None:
            out.update({f"{name}.{k}": v for k, v in factors.items()})
            continue
        if len(parts) == 1:
            out.update({f"{parts[0]}.{k}": v for k, v in factors.items()})
            continue
        down, up, alpha = factors["lora_down.weight"], factors["lora_up.weight"], _alpha(factors)
        if len(parts) == 3:
            sizes = [up.shape[0] // 3] * 3
        else:
            width = (config or {}).get("num_attention_heads", 0) * (config or {}).get("attention_head_dim", 0)
            width = width or up.shape[0] // (3 + MLP_RATIO)
            sizes = [width] * 3 + [width * MLP_RATIO]
        rank = down.shape[0]
        sparse = rank % len(parts) == 0 and _block_sparse(up, sizes, rank // len(parts))
        row = 0
        for j, (part, size) in enumerate(zip(parts, sizes, strict=True)):
            rows = up[row : row + size]
            if sparse:
                r = rank // len(parts)
                out[f"{part}.lora_down.weight"] = down[j * r : (j + 1) * r].contiguous()
                out[f"{part}.lora_up.weight"] = rows[:, j * r : (j + 1) * r].contiguous()
                out[f"{part}.alpha"] = torch.tensor(alpha / len(parts))
            else:
                out[f"{part}.lora_down.weight"] = down.clone()
                out[f"{part}.lora_up.weight"] = rows.contiguous()
                out[f"{part}.alpha"] = torch.tensor(alpha)
            row += size
    return out


def to_diffusers(tensors: dict[str, torch.Tensor], config: dict | None = None) -> dict[str, torch.Tensor]:
    """Any of our Flux layouts → diffusers/peft ``transformer.<path>.lora_A/B.weight`` (alpha/rank folded in
    the down, as diffusers' own converter does), ``text_encoder.`` for CLIP-L, ``text_encoder_2.`` for T5."""
    split = from_sd_scripts(tensors, config)
    out: dict[str, torch.Tensor] = {}
    for name, factors in _modules(split).items():
        scale = _alpha(factors) / factors["lora_down.weight"].shape[0]
        path = _dotted_path(name)
        out[f"{path}.lora_A.weight"] = factors["lora_down.weight"] * scale
        out[f"{path}.lora_B.weight"] = factors["lora_up.weight"]
    return out


_PART_OF_PREFIX = {"lora_unet_": "transformer.", "lora_te1_": "text_encoder.", "lora_te3_": "text_encoder_2."}
_DOT_WORDS = (
    "single_transformer_blocks",
    "transformer_blocks",
    "ff_context",
    "to_add_out",
    "add_q_proj",
    "add_k_proj",
    "add_v_proj",
    "proj_mlp",
    "proj_out",
    "to_out",
    "to_q",
    "to_k",
    "to_v",
    "norm1_context",
    "self_attn",
    "text_model",
    "out_proj",
    "q_proj",
    "k_proj",
    "v_proj",
    "SelfAttention",
    "DenseReluDense",
    "wi_0",
    "wi_1",
)


def _dotted_path(name: str) -> str:
    """``lora_unet_transformer_blocks_0_attn_to_q`` → ``transformer.transformer_blocks.0.attn.to_q``."""
    prefix = next((p for p in _PART_OF_PREFIX if name.startswith(p)), None)
    if prefix is None:
        raise ValueError(f"{name} is no Flux LoRA module name")
    part, rest = _PART_OF_PREFIX[prefix], name[len(prefix) :]
    keep = {w: w.replace("_", "\0") for w in _DOT_WORDS}
    for word, masked in sorted(keep.items(), key=lambda kv: -len(kv[0])):
        rest = rest.replace(word, masked)
    return part + rest.replace("_", ".").replace("\0", "_")


def from_diffusers(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """diffusers/peft Flux keys (``transformer.<path>.lora_A.weight``) → sd-scripts' layout (alpha = rank)."""
    named: dict[str, torch.Tensor] = {}
    prefixes = {v: k for k, v in _PART_OF_PREFIX.items()}
    for key, value in tensors.items():
        key = key.removeprefix("base_model.model.")
        part = next((p for p in prefixes if key.startswith(p)), "transformer.")
        path = key.removeprefix(part)
        module, _, suffix = path.rpartition(".lora_")
        kind = {"A.weight": "lora_down.weight", "B.weight": "lora_up.weight"}.get(suffix)
        if kind is None:
            continue
        name = prefixes[part] + module.replace(".", "_")
        named[f"{name}.{kind}"] = value
        if kind == "lora_down.weight":
            named[f"{name}.alpha"] = torch.tensor(float(value.shape[0]))
    return to_sd_scripts(named)
