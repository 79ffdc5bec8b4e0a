"""Bake LoRAs into a base checkpoint: one single-file safetensors with the changes added to the weights.

The checkpoint keeps its original (SGM/LDM) key layout, the one A1111, Forge and ComfyUI load:

- UNet: ``model.diffusion_model.<SGM path>.weight``. kohya names SDXL modules by the SGM path and SD1/SD2
  modules by the diffusers path, so SD1/SD2 names are mapped with :mod:`lorakit.lora.keys`.
- CLIP text encoders in transformers layout: ``cond_stage_model.transformer.<path>`` (SD1) and
  ``conditioner.embedders.0.transformer.<path>`` (SDXL CLIP-L).
- OpenCLIP encoders (SDXL's second, SD2's only): ``...model.transformer.resblocks.<i>.attn.in_proj_weight``
  holds q, k and v stacked by rows, so the q/k/v LoRA changes land in thirds of it; ``out_proj``,
  ``mlp.c_fc`` and ``mlp.c_proj`` are the transformers ``out_proj``, ``fc1`` and ``fc2``.

The output is written tensor by tensor (header first, from the input's shapes), so memory stays at one
tensor of the checkpoint plus the LoRAs, whatever the checkpoint's size.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

import torch

from lorakit.events import PROGRESS, Emitter
from lorakit.lora.modules import LoraFormatError, LoraModule, read_lora, require_known
from lorakit.lora.naming import sgm_to_diffusers, underscored, unet_layout

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
_ST_DTYPES = {
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float32: "F32",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_UNET = "model.diffusion_model."
_OPENCLIP = re.compile(
    r"(.*)transformer\.resblocks\.(\d+)\.(attn\.in_proj_weight|attn\.out_proj\.weight|mlp\.c_fc\.weight|mlp\.c_proj\.weight)$"
)
_OPENCLIP_PARTS = {
    "attn.out_proj.weight": "self_attn_out_proj",
    "mlp.c_fc.weight": "mlp_fc1",
    "mlp.c_proj.weight": "mlp_fc2",
}


def checkpoint_arch(keys) -> str:
    """sd1, sd2 or sdxl from a checkpoint's key layout."""
    keys = list(keys)
    if any(k.startswith("conditioner.embedders.1.") for k in keys):
        return "sdxl"
    if any(k.startswith("cond_stage_model.model.transformer.") for k in keys):
        return "sd2"
    if any(k.startswith(_UNET) for k in keys):
        return "sd1"
    raise LoraFormatError(
        "This file is not a single-file SD1/SD2/SDXL checkpoint (no model.diffusion_model.* keys).",
        "Bake into a single-file .safetensors checkpoint, as A1111/ComfyUI use.",
    )


def targets(keys, arch: str, unet_config: dict | None = None) -> dict[str, tuple[str, int | None]]:
    """kohya module name -> (checkpoint key, which third of a stacked q/k/v weight or None)."""
    layout = unet_layout(arch, unet_config)
    te_prefixes = {
        "cond_stage_model.transformer.": "lora_te",
        "conditioner.embedders.0.transformer.": "lora_te1",
    }
    openclip_prefix = {"sdxl": "lora_te2", "sd2": "lora_te"}.get(arch)
    found: dict[str, tuple[str, int | None]] = {}
    for key in keys:
        if not key.endswith("weight"):
            continue
        if key.startswith(_UNET) and key.endswith(".weight"):
            path = key[len(_UNET) : -len(".weight")]
            found[f"lora_unet_{underscored(path)}"] = (key, None)  # SGM naming (SDXL)
            with contextlib.suppress(KeyError):  # SD1/SD2 naming; keys with no diffusers twin are SGM-only
                found[f"lora_unet_{underscored(sgm_to_diffusers(path, layout))}"] = (key, None)
            continue
        for prefix, lora_prefix in te_prefixes.items():
            if key.startswith(prefix) and key.endswith(".weight"):
                found[f"{lora_prefix}_{underscored(key[len(prefix) : -len('.weight')])}"] = (key, None)
        if openclip_prefix and (m := _OPENCLIP.match(key)):
            base = f"{openclip_prefix}_text_model_encoder_layers_{m[2]}_"
            if m[3] == "attn.in_proj_weight":
                for third, letter in enumerate("qkv"):
                    found[f"{base}self_attn_{letter}_proj"] = (key, third)
            else:
                found[base + _OPENCLIP_PARTS[m[3]]] = (key, None)
    return found


def bake_loras(
    checkpoint: str | os.PathLike,
    loras: list[tuple[str | os.PathLike, float]],
    output: str | os.PathLike,
    *,
    dtype: str = "fp16",
    unet_config: dict | None = None,
    emitter: Emitter | None = None,
) -> Path:
    """Add each LoRA's change × its weight to ``checkpoint`` and write ``output`` in ``dtype`` (fp16/bf16/fp32)."""
    from safetensors import SafetensorError, safe_open

    from lorakit.fileio import atomic_open

    if dtype not in DTYPES:
        raise LoraFormatError(f"Unknown precision {dtype!r}.", f"Use one of: {', '.join(DTYPES)}.")
    source, out_path = Path(checkpoint), Path(output)
    if source.resolve() == out_path.resolve():
        raise LoraFormatError("The output path is the input checkpoint.", "Write the baked model to a new file.")
    if not source.is_file():
        raise LoraFormatError(f"There is no checkpoint at {source}.", "Check the path to the .safetensors file.")
    if source.suffix.lower() != ".safetensors":
        # .ckpt files are pickles, which can run code when opened.
        raise LoraFormatError(f"{source.name} is not a .safetensors checkpoint.", "Use the .safetensors version.")
    try:
        handle = safe_open(str(source), framework="pt")
    except (SafetensorError, OSError, ValueError) as error:
        raise LoraFormatError(
            f"{source.name} is not a readable .safetensors file ({error}).", "Download the checkpoint again."
        ) from error
    with handle as f:
        keys = list(f.keys())
        arch = checkpoint_arch(keys)
        where = targets(keys, arch, unet_config)
        changes: dict[str, list[tuple[LoraModule, float, int | None]]] = {}
        for path, weight in loras:
            state = read_lora(path)
            require_known(state, Path(path).name)
            missing = [name for name in state.modules if name not in where]
            if missing:
                shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
                raise LoraFormatError(
                    f"{len(missing)} modules of {Path(path).name} have no weight in this {arch} checkpoint: {shown}",
                    "Check that the LoRA was trained for this kind of model (SD1.5 LoRAs do not fit SDXL).",
                )
            for name, module in state.modules.items():
                key, third = where[name]
                changes.setdefault(key, []).append((module, float(weight), third))
        out_dtype = DTYPES[dtype]
        header, total = {}, 0
        metadata = dict(f.metadata() or {})
        for key in keys:
            sl = f.get_slice(key)
            shape, kind = sl.get_shape(), _dtype_of(sl.get_dtype())
            kind = out_dtype if kind.is_floating_point else kind
            size = _numel(shape) * torch.empty((), dtype=kind).element_size()
            header[key] = {"dtype": _ST_DTYPES[kind], "shape": shape, "data_offsets": [total, total + size]}
            total += size
        metadata["lorakit_baked"] = json.dumps([{"lora": Path(p).name, "weight": float(w)} for p, w in loras])
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # safetensors aligns the data start to 8 bytes
        with atomic_open(out_path, "wb") as out:
            out.write(len(raw).to_bytes(8, "little"))
            out.write(raw)
            for done, key in enumerate(keys, start=1):
                tensor = f.get_tensor(key)
                if key in changes:
                    tensor = _apply(key, tensor, changes[key])
                if tensor.is_floating_point():
                    tensor = tensor.to(out_dtype)
                out.write(tensor.contiguous().view(torch.uint8).numpy().tobytes())
                if emitter and done % 200 == 0:
                    emitter.emit(PROGRESS, done=done, total=len(keys), unit="tensors")
    return out_path


def _apply(key: str, tensor: torch.Tensor, changes) -> torch.Tensor:
    weight = tensor.float()
    for module, strength, third in changes:
        if third is not None:
            rows = weight.shape[0] // 3
            target = weight[third * rows : (third + 1) * rows]
        else:
            target = weight
        try:
            # Linear vs 1x1-conv layers differ only by trailing 1-dims (SD1 proj_in/proj_out); DoRA and
            # LyCORIS modules are computed against the base weight (lorakit.lora.modules.weight_change).
            target += module.weight_change(target, strength)
        except LoraFormatError as error:
            raise LoraFormatError(f"{error.problem} (checkpoint key {key})", error.fix) from error
    return weight


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _dtype_of(name: str) -> torch.dtype:
    for kind, st in _ST_DTYPES.items():
        if st == name:
            return kind
    raise LoraFormatError(f"Unsupported tensor type {name} in the checkpoint.")
