"""``lorakit lora convert`` for Flux LoRAs: sd-scripts' layout ↔ diffusers / peft (see :mod:`lorakit.lora.flux_keys`).

- ``kohya``: sd-scripts' ``lora_unet_double_blocks_N_img_attn_qkv`` ... with alphas (what lorakit trains to).
- ``diffusers``: one file, ``transformer.<path>.lora_A/B.weight`` (``text_encoder.`` CLIP-L, ``text_encoder_2.`` T5),
  alpha / rank folded into ``lora_A`` as diffusers' own Flux converter does, so no alpha is needed.
- ``peft``: a ``transformer/`` (and ``text_encoder/``...) folder with ``adapter_model.safetensors`` and an
  ``adapter_config.json`` (``lora_alpha`` = ``r``: the scale is folded in as above).

Reading takes any of the three; the fused q/k/v of the kohya form are split (and put back) exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from lorakit.lora.flux_keys import from_diffusers, to_diffusers
from lorakit.lora.modules import LoraFormatError

LAYOUTS = ("kohya", "diffusers", "peft")
_MARKERS = ("double_blocks", "single_blocks", "transformer_blocks.", "single_transformer_blocks")
_PEFT_PARTS = {"transformer": "transformer.", "text_encoder": "text_encoder.", "text_encoder_2": "text_encoder_2."}


def _read(source: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from lorakit.lora.modules import read_safetensors

    if source.is_dir():
        tensors: dict[str, torch.Tensor] = {}
        for part, prefix in _PEFT_PARTS.items():
            weights = source / part / "adapter_model.safetensors"
            if not weights.exists():
                continue
            found, _ = read_safetensors(weights)
            config = json.loads((source / part / "adapter_config.json").read_text(encoding="utf-8"))
            scale = float(config.get("lora_alpha", config.get("r", 1))) / float(config.get("r", 1))
            for key, value in found.items():
                key = prefix + key.removeprefix("base_model.model.")
                tensors[key] = value * scale if ".lora_A." in key else value
        sidecar = source / "lorakit_metadata.json"
        return tensors, (json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else {})
    return read_safetensors(source)


def is_flux(source: str | os.PathLike, arch: str | None = None) -> bool:
    """True for a Flux LoRA (named ``arch="flux"``, or Flux block names in its keys)."""
    if arch == "flux":
        return True
    if arch is not None:
        return False
    path = Path(source)
    try:
        if path.is_dir():
            return (path / "transformer" / "adapter_model.safetensors").exists()
        from lorakit.models.header import read_header

        return any(marker in key for key in read_header(path).tensors for marker in _MARKERS)
    except Exception:  # unreadable: the general converter reports it
        return False


def to_kohya(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Any Flux layout → sd-scripts' layout."""
    if any(".lora_A." in k or ".lora_B." in k for k in tensors):
        return from_diffusers(tensors)
    if not any(k.endswith(".lora_down.weight") for k in tensors):
        raise LoraFormatError("The file holds no LoRA factors lorakit understands.", "Check it is a Flux LoRA.")
    from lorakit.lora.flux_keys import to_sd_scripts

    return to_sd_scripts(tensors)  # also fuses a kohya file written with split q/k/v names


def convert(source: str | os.PathLike, output: str | os.PathLike, layout: str) -> Path:
    """Write the Flux LoRA ``source`` in ``layout`` at ``output`` (a file; a folder for peft)."""
    from lorakit.fileio import atomic_write_bytes, atomic_write_text
    from lorakit.lora.modules import safetensors_bytes, write_lora

    if layout not in LAYOUTS:
        raise LoraFormatError(
            f"Flux LoRAs convert to {', '.join(LAYOUTS)}, not {layout!r}.",
            "Use --to kohya (ComfyUI, Forge, sd-scripts), diffusers or peft.",
        )
    tensors, metadata = _read(Path(source))
    kohya = to_kohya(tensors)
    out = Path(output)
    if layout == "kohya":
        return write_lora(out, kohya, metadata)
    flat = to_diffusers(kohya)
    meta = {k: v for k, v in metadata.items() if k != "lora_adapter_metadata"}
    if layout == "diffusers":
        atomic_write_bytes(out, safetensors_bytes(flat, {**meta, "format": "pt"}))
        return out
    for part, prefix in _PEFT_PARTS.items():
        mine = {k.removeprefix(prefix): v for k, v in flat.items() if k.startswith(prefix)}
        if not mine:
            continue
        folder = out / part
        folder.mkdir(parents=True, exist_ok=True)
        ranks = {k.rsplit(".lora_A.", 1)[0]: v.shape[0] for k, v in mine.items() if ".lora_A." in k}
        rank = max(ranks.values())
        config = {
            "r": rank,
            "lora_alpha": rank,
            "target_modules": sorted(ranks),
            "rank_pattern": {m: r for m, r in ranks.items() if r != rank},
            "alpha_pattern": {m: r for m, r in ranks.items() if r != rank},  # alpha = rank: scale 1 (folded in)
            "peft_type": "LORA",
        }
        weights = {f"base_model.model.{k}": v for k, v in mine.items()}
        atomic_write_bytes(folder / "adapter_model.safetensors", safetensors_bytes(weights, {"format": "pt"}))
        atomic_write_text(folder / "adapter_config.json", json.dumps(config, indent=2, sort_keys=True))
    atomic_write_text(out / "lorakit_metadata.json", json.dumps(meta, indent=2, sort_keys=True))
    return out
