"""Kohya/A1111 LoRA module names, and the SDXL UNet's diffusers ↔ SGM name mapping.

A kohya module name is a prefix (``lora_unet``, ``lora_te``, ``lora_te1``, ``lora_te2``) plus the
module path with every ``.`` replaced by ``_``. SD1/SD2 UNets use diffusers paths; SDXL UNets use the
original SGM paths (``input_blocks.4.1...``), which is what ComfyUI, A1111 and Forge expect (see
docs/REFERENCE: "diffusers names for SDXL load in some tools and not others").

The SGM layout, derived from the UNet config so it also holds for the tiny test models:

* ``input_blocks.0.0`` = ``conv_in``; then per down block ``b`` and layer ``j``:
  ``input_blocks.{1 + b*(L+1) + j}.0`` = ``down_blocks.b.resnets.j`` and ``.1`` = ``attentions.j``;
  the block's downsampler is ``input_blocks.{(b+1)*(L+1)}.0.op``.
* ``middle_block.0/1/2`` = ``mid_block.resnets.0`` / ``attentions.0`` / ``resnets.1``.
* ``output_blocks.{b*(L+1) + j}.0`` = ``up_blocks.b.resnets.j``, ``.1`` = ``attentions.j``; the upsampler
  sits in the block's last layer at index 1 (no attention) or 2, as ``...conv``.
* Inside a resnet: norm1→in_layers.0, conv1→in_layers.2, time_emb_proj→emb_layers.1,
  norm2→out_layers.0, conv2→out_layers.3, conv_shortcut→skip_connection. Attention internals keep
  their names.
* ``time_embedding.linear_1/2`` → ``time_embed.0/2``, ``add_embedding.linear_1/2`` → ``label_emb.0.0/0.2``,
  ``conv_norm_out`` → ``out.0``, ``conv_out`` → ``out.2``.

``L`` is ``layers_per_block``; up blocks have ``L + 1`` layers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

UNET_PREFIX = "lora_unet"
TE_PREFIX = "lora_te"  # SD1/SD2's single CLIP text encoder
TE1_PREFIX = "lora_te1"  # SDXL CLIP-L (and Flux CLIP-L)
TE2_PREFIX = "lora_te2"  # SDXL OpenCLIP-G
TE3_PREFIX = "lora_te3"  # Flux T5 (later)

_RESNET_PARTS = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}
_RESNET_PARTS_BACK = {v: k for k, v in _RESNET_PARTS.items()}
_TOP_LEVEL = {
    "conv_in": "input_blocks.0.0",
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
_TOP_LEVEL_BACK = {v: k for k, v in _TOP_LEVEL.items()}


def kohya_name(prefix: str, module_path: str) -> str:
    """``("lora_unet", "down_blocks.0.attentions.0.proj_in")`` → ``"lora_unet_down_blocks_0_attentions_0_proj_in"``."""
    return f"{prefix}_{module_path.replace('.', '_')}"


def kohya_lookup(prefix: str, module_paths: Iterable[str]) -> dict[str, str]:
    """A table from kohya name back to module path (the ``.``→``_`` step alone cannot be undone)."""
    return {kohya_name(prefix, path): path for path in module_paths}


def _layers_per_block(config: Mapping[str, Any]) -> list[int]:
    per = config.get("layers_per_block", 2)
    blocks = len(config["down_block_types"])
    return list(per) if isinstance(per, (list, tuple)) else [int(per)] * blocks


def _has_attention(block_type: str) -> bool:
    return "CrossAttn" in block_type or "Attn" in block_type


def _block_tables(config: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Block-level prefixes: diffusers → SGM, e.g. ``down_blocks.1.attentions.0`` → ``input_blocks.4.1``."""
    down_types = list(config["down_block_types"])
    up_types = list(config["up_block_types"])
    per_block = _layers_per_block(config)
    to_sgm: dict[str, str] = {}
    index = 1
    for b, block_type in enumerate(down_types):
        for j in range(per_block[b]):
            to_sgm[f"down_blocks.{b}.resnets.{j}"] = f"input_blocks.{index}.0"
            if _has_attention(block_type):
                to_sgm[f"down_blocks.{b}.attentions.{j}"] = f"input_blocks.{index}.1"
            index += 1
        if b < len(down_types) - 1:
            to_sgm[f"down_blocks.{b}.downsamplers.0.conv"] = f"input_blocks.{index}.0.op"
            index += 1
    to_sgm["mid_block.resnets.0"] = "middle_block.0"
    to_sgm["mid_block.attentions.0"] = "middle_block.1"
    to_sgm["mid_block.resnets.1"] = "middle_block.2"
    index = 0
    up_per_block = list(reversed(per_block))
    for b, block_type in enumerate(up_types):
        layers = up_per_block[b] + 1
        for j in range(layers):
            to_sgm[f"up_blocks.{b}.resnets.{j}"] = f"output_blocks.{index}.0"
            if _has_attention(block_type):
                to_sgm[f"up_blocks.{b}.attentions.{j}"] = f"output_blocks.{index}.1"
            if j == layers - 1 and b < len(up_types) - 1:
                slot = 2 if _has_attention(block_type) else 1
                to_sgm[f"up_blocks.{b}.upsamplers.0.conv"] = f"output_blocks.{index}.{slot}.conv"
            index += 1
    return to_sgm, {v: k for k, v in to_sgm.items()}


def _longest_prefix(path: str, table: Mapping[str, str]) -> str | None:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in table:
            return head
    return None


def sdxl_unet_to_sgm(module_path: str, unet_config: Mapping[str, Any]) -> str:
    """A diffusers SDXL UNet module path as its SGM path: ``down_blocks.1.attentions.0.x`` → ``input_blocks.4.1.x``."""
    if module_path in _TOP_LEVEL:
        return _TOP_LEVEL[module_path]
    to_sgm, _ = _block_tables(unet_config)
    head = _longest_prefix(module_path, to_sgm)
    if head is None:
        raise KeyError(f"no SGM name for UNet module {module_path!r}")
    rest = module_path[len(head) + 1 :]
    if ".resnets." in f".{head}" and rest:
        part = _longest_prefix(rest, _RESNET_PARTS)
        if part is None:
            raise KeyError(f"no SGM name for resnet part {rest!r} of {head!r}")
        rest = _RESNET_PARTS[part] + rest[len(part) :]
    return f"{to_sgm[head]}.{rest}" if rest else to_sgm[head]


def sgm_to_sdxl_unet(sgm_path: str, unet_config: Mapping[str, Any]) -> str:
    """The inverse of :func:`sdxl_unet_to_sgm`."""
    if sgm_path in _TOP_LEVEL_BACK:
        return _TOP_LEVEL_BACK[sgm_path]
    _, to_diffusers = _block_tables(unet_config)
    head = _longest_prefix(sgm_path, to_diffusers)
    if head is None:
        raise KeyError(f"no diffusers name for SGM module {sgm_path!r}")
    target = to_diffusers[head]
    rest = sgm_path[len(head) + 1 :]
    if ".resnets." in f".{target}" and rest:
        part = _longest_prefix(rest, _RESNET_PARTS_BACK)
        if part is None:
            raise KeyError(f"no diffusers name for resnet part {rest!r} of {head!r}")
        rest = _RESNET_PARTS_BACK[part] + rest[len(part) :]
    return f"{target}.{rest}" if rest else target


_SGM_MARKERS = re.compile(r"^lora_unet_(input_blocks|middle_block|output_blocks|time_embed|label_emb|out)_")


def is_sgm_layout(kohya_names: Iterable[str]) -> bool:
    """True when a LoRA file's UNet keys use SGM names (SDXL as kohya writes it)."""
    return any(_SGM_MARKERS.match(name) for name in kohya_names)


def unet_kohya_names(module_paths: Iterable[str], unet_config: Mapping[str, Any], *, sgm: bool) -> dict[str, str]:
    """Module path → kohya name for UNet modules, in SGM naming when ``sgm`` (SDXL)."""
    out = {}
    for path in module_paths:
        name_path = sdxl_unet_to_sgm(path, unet_config) if sgm else path
        out[path] = kohya_name(UNET_PREFIX, name_path)
    return out


def _maps_all(paths: list[str], layout: Mapping[str, Any], *, sgm: bool) -> bool:
    mapping = sgm_to_sdxl_unet if sgm else sdxl_unet_to_sgm
    try:
        for path in paths:
            mapping(path, layout)
    except KeyError:
        return False
    return True


_DIFFUSERS_BLOCK = re.compile(r"^(down|up)_blocks\.(\d+)\.(resnets|attentions|downsamplers|upsamplers)\.(\d+)")
_SGM_BLOCK = re.compile(r"^(input|output)_blocks\.(\d+)\.(\d+)(\.[a-z]+)?")


def _blocks_seen(paths: list[str], layers: int, *, sgm: bool) -> tuple[int, dict[tuple[str, int], bool], int]:
    """(block count at least, {(down|up, block): has attention} where the names show it, layers at least)."""
    count, attention, deepest = 0, {}, 0
    for path in paths:
        if sgm:
            match = _SGM_BLOCK.match(path)
            if not match:
                continue
            side, index, slot, leaf = match[1], int(match[2]), int(match[3]), match[4] or ""
            if side == "input":
                block = (index - 1) // (layers + 1)
                if slot == 1:
                    attention[("down", block)] = True
            else:
                block = index // (layers + 1)
                if slot == 1 and leaf != ".conv":  # slot 1 is the upsampler only in blocks without attention
                    attention[("up", block)] = True
            count = max(count, block + 1)
            continue
        match = _DIFFUSERS_BLOCK.match(path)
        if not match:
            continue
        side, block, kind, layer = match[1], int(match[2]), match[3], int(match[4])
        has_sampler = kind in ("downsamplers", "upsamplers")
        count = max(count, block + (2 if has_sampler else 1))  # only blocks before the last one resample
        if kind == "attentions":
            attention[(side, block)] = True
        if kind in ("resnets", "attentions"):
            deepest = max(deepest, layer + 1 if side == "down" else layer)
    return count, attention, deepest


def fit_layout(module_paths: Iterable[str], layout: Mapping[str, Any], *, sgm: bool = False) -> dict[str, Any]:
    """The UNet layout to name ``module_paths`` (diffusers paths, or SGM paths when ``sgm``) by.

    ``layout`` (the real model's block structure) is kept when it names every path. A LoRA for another
    UNet shape (the tiny models, whose first block has no attention) names modules the real SD1 UNet does
    not have; its structure is then read from the names themselves: the block count from the highest block
    index, which blocks have attention from their attention modules. Index arithmetic depends only on those
    and on ``layers_per_block``, so every name maps exactly as with the model's own config. Raises KeyError
    when no layout names them all.
    """
    paths = [p for p in module_paths if p not in _TOP_LEVEL and p not in _TOP_LEVEL_BACK]
    if _maps_all(paths, layout, sgm=sgm):
        return dict(layout)
    per_block = _layers_per_block(layout)
    layers = per_block[0]
    count, attention, deepest = _blocks_seen(paths, layers, sgm=sgm)
    layers = max(layers, deepest)
    count = max(count, 1)
    any_attention = bool(attention)
    real_down = list(layout["down_block_types"])
    real_up = list(layout["up_block_types"])

    def kind(side: str, block: int) -> bool:
        if (side, block) in attention:
            return True
        if any_attention:  # a LoRA on attention layers has them in every block that has any
            return False
        types = real_down if side == "down" else real_up
        return block < len(types) and _has_attention(types[block])

    fitted = {
        "layers_per_block": layers,
        "down_block_types": ["CrossAttnDownBlock2D" if kind("down", b) else "DownBlock2D" for b in range(count)],
        "up_block_types": ["CrossAttnUpBlock2D" if kind("up", b) else "UpBlock2D" for b in range(count)],
    }
    for path in paths:
        (sgm_to_sdxl_unet if sgm else sdxl_unet_to_sgm)(path, fitted)  # KeyError names the first it cannot
    return fitted
