"""A LoRA's modules grouped by block: what a per-block chart of ranks and strengths shows.

UNet blocks carry the names people know from LoRA Block Weight: ``IN00``-``IN11``, ``MID``, ``OUT00``-``OUT11``
(the index of the original model's ``input_blocks`` / ``output_blocks``, for SD1/SD2 names in diffusers layout
as well as SDXL names in SGM layout; :func:`lorakit.lora.blocks.block_index` numbers them as sd-scripts does).
Text-encoder modules are grouped by encoder layer (``TE L03``, ``TE2 L11``). A block's strength is the
Frobenius norm of all its modules' changes together, sqrt(Σ ‖ΔW‖²).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from lorakit.lora.blocks import SD, block_index

_SGM = re.compile(r"lora_unet_(input_blocks|middle_block|output_blocks)_(\d+)_")
_TE_LAYER = re.compile(r"_layers_(\d+)_|_resblocks_(\d+)_|_block_(\d+)_")


@dataclass
class BlockSummary:
    block: str  # IN04, MID, OUT07, TE L03, TE2 L11, BASE (time embedding), OUT (final layer), other
    order: int  # where the block goes on a chart: the model's own order, text encoders first
    part: str  # unet, te, te1, te2, te3
    modules: int
    min_rank: int
    max_rank: int
    mean_rank: float
    strength: float | None  # sqrt(sum of the modules' squared strengths); None when none could be computed


def unet_block(name: str) -> tuple[str, int]:
    """``(label, order)`` of a UNet module's kohya name."""
    m = _SGM.match(name)
    if m:  # SGM names carry the block number themselves
        kind, n = m.group(1), int(m.group(2))
        if kind == "input_blocks":
            return f"IN{n:02d}", 100 + n
        if kind == "middle_block":
            return "MID", 200
        return f"OUT{n:02d}", 300 + n
    index = block_index(name)
    if 1 <= index < SD.side:
        return f"IN{index:02d}", 100 + index
    if index == SD.side:
        return "MID", 200
    if SD.side < index < SD.total:
        n = index - SD.side - 1
        return f"OUT{n:02d}", 300 + n
    if index == 0:
        return "BASE", 99
    if name.startswith("lora_unet_out_"):
        return "OUT", 400
    return "other", 500


def text_block(name: str, part: str) -> tuple[str, int]:
    """``(label, order)`` of a text-encoder module: its part and encoder layer."""
    tag = part.upper()
    base = {"TE": 0, "TE1": 0, "TE2": 33, "TE3": 66}.get(tag, 98)
    m = _TE_LAYER.search(name)
    if not m:
        return tag, base + 32
    layer = int(next(g for g in m.groups() if g is not None))
    return f"{tag} L{layer:02d}", base + min(layer, 31)


def block_summary(modules) -> list[BlockSummary]:
    """Group ``ModuleInfo`` items (``lorakit.lora.inspect``) by block, in the model's order: text encoders, BASE,
    IN, MID, OUT."""
    groups: dict[tuple[str, int, str], list] = {}
    for module in modules:
        if module.part == "unet":
            label, order = unet_block(module.name)
        else:
            label, order = text_block(module.name, module.part)
        groups.setdefault((label, order, module.part), []).append(module)
    out = []
    for (label, order, part), items in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ranks = [m.rank for m in items]
        finite = [m.strength for m in items if m.strength is not None and math.isfinite(m.strength)]
        out.append(
            BlockSummary(
                block=label,
                order=order,
                part=part,
                modules=len(items),
                min_rank=min(ranks),
                max_rank=max(ranks),
                mean_rank=sum(ranks) / len(ranks),
                strength=math.sqrt(sum(s * s for s in finite)) if finite else None,
            )
        )
    return out


def block_summary_dicts(modules) -> list[dict]:
    return [asdict(b) for b in block_summary(modules)]
