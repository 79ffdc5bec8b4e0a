"""A kohya LoRA file seen module by module: which tensors belong together, and the weight change each makes.

A kohya state dict is flat (``lora_unet_..._to_q.lora_down.weight``, ``....lora_up.weight``, ``....alpha``).
Every tool here (inspect, resize, merge, convert, bake) needs the same grouped view, and the same answer to
"what does this module add to the base weight": ``up @ down × alpha / rank`` (REFERENCE.md), with conv
weights flattened to 2-D for the product and reshaped back; LoHa and LoKr by their own formulas
(:mod:`lorakit.lora.lycoris_math`); DoRA only against a base weight (:meth:`LoraModule.weight_change`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lorakit.errors import LorakitError
from lorakit.lora.lycoris_math import dora_weight, lokr_delta

# kohya prefixes and the part of the model each one trains (REFERENCE.md).
PREFIXES = {
    "lora_unet": "unet",
    "lora_te": "text encoder",
    "lora_te1": "text encoder 1 (CLIP-L)",
    "lora_te2": "text encoder 2 (OpenCLIP-G)",
    "lora_te3": "text encoder 3 (T5)",
}

# Tensor suffixes after the module name, by network type. DoRA is a LoRA plus a magnitude vector.
LORA_SUFFIXES = {"lora_down.weight", "lora_up.weight", "lora_mid.weight", "alpha", "dora_scale"}
LOHA_SUFFIXES = {"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2", "alpha", "dora_scale"}
LOKR_SUFFIXES = {"lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2", "alpha"}
KNOWN_SUFFIXES = LORA_SUFFIXES | LOHA_SUFFIXES | LOKR_SUFFIXES


# kohya names (diffusers and SGM spellings) of the SD-family UNet layers that are 3×3 convolutions.
_THREE_BY_THREE = (
    "_conv1",
    "_conv2",
    "_conv",
    "_op",
    "_in_layers_2",
    "_out_layers_3",
    "_conv_in",
    "_conv_out",
    "_input_blocks_0_0",
    "_out_2",
)


class LoraFormatError(LorakitError):
    """A LoRA file that cannot be read, or whose keys are not a layout we understand."""

    code = "lora"


def prefix_of(module_name: str) -> str:
    """The kohya prefix (``lora_unet``, ``lora_te1``...) of a module name."""
    head = module_name.split("_", 2)
    return "_".join(head[:2]) if len(head) >= 2 else module_name


@dataclass
class LoraModule:
    """The tensors of one adapted layer, keyed by suffix (``lora_down.weight``, ``alpha``, ``hada_w1_a``...)."""

    name: str
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def network_type(self) -> str:
        keys = set(self.tensors)
        if keys & {"hada_w1_a", "hada_w2_a"}:
            kind = "loha"
        elif any(k.startswith("lokr_") for k in keys):
            kind = "lokr"
        else:
            kind = "lora"
        return kind + ("+dora" if "dora_scale" in keys else "")

    @property
    def prefix(self) -> str:
        return prefix_of(self.name)

    @property
    def is_conv(self) -> bool:
        down = self.tensors.get("lora_down.weight")
        if down is not None:
            return down.dim() == 4 or "lora_mid.weight" in self.tensors
        return self.kernel is not None

    @property
    def kernel(self) -> tuple[int, int] | None:
        down = self.tensors.get("lora_down.weight")
        if down is not None:
            return (int(down.shape[2]), int(down.shape[3])) if down.dim() == 4 else None
        try:
            # LoHa and low-rank LoKr store a conv's kernel flattened: delta_shape reads it from the layer name.
            shape = self.delta_shape()
        except LorakitError:
            return None
        return (int(shape[2]), int(shape[3])) if len(shape) == 4 else None

    @property
    def rank(self) -> int:
        t = self.tensors
        if "lora_down.weight" in t:
            return int(t["lora_down.weight"].shape[0])
        if "hada_w1_b" in t:
            return int(t["hada_w1_b"].shape[0])
        if "lokr_w2_b" in t:
            return int(t["lokr_w2_b"].shape[0])
        if "lokr_w1_b" in t:
            return int(t["lokr_w1_b"].shape[0])
        return 0  # full LoKr factors: no rank

    @property
    def alpha(self) -> float:
        if "alpha" in self.tensors:
            return float(self.tensors["alpha"].float().item())
        # kohya's own loader treats a missing alpha as alpha = rank (scale 1).
        return float(self.rank)

    @property
    def scale(self) -> float:
        if self.network_type.startswith("lokr") and self.rank == 0:
            return 1.0  # LyCORIS applies no alpha scale when neither Kronecker factor is low-rank
        return self.alpha / self.rank if self.rank else 1.0

    @property
    def out_features(self) -> int:
        return int(self.delta_shape()[0])

    def delta_shape(self) -> tuple[int, ...]:
        t = self.tensors
        if "lora_down.weight" in t:
            down, up = t["lora_down.weight"], t["lora_up.weight"]
            if "lora_mid.weight" in t:
                mid = t["lora_mid.weight"]
                return (up.shape[0], down.shape[1], mid.shape[2], mid.shape[3])
            if down.dim() == 4:
                return (up.shape[0], down.shape[1], down.shape[2], down.shape[3])
            return (up.shape[0], down.shape[1])
        shape = tuple(self.low_rank_delta().shape)
        if len(shape) == 2 and self.name.endswith(_THREE_BY_THREE) and shape[1] % 9 == 0:
            # A LoHa / low-rank LoKr conv stores its kernel flattened; SD UNets' convs of these names are 3×3.
            return (shape[0], shape[1] // 9, 3, 3)
        return shape

    def delta(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The change this module makes to its layer's weight (conv: ``(out, in, kh, kw)``; a LoHa or low-rank
        LoKr conv comes flattened, ``(out, in·kh·kw)``)."""
        if self.network_type.endswith("+dora"):
            raise LoraFormatError(
                f"Module {self.name} is a DoRA module: its change depends on the base model's weights.",
                "Bake it into a checkpoint (`lorakit lora bake`), which has the base weights, instead.",
            )
        return self.low_rank_delta(dtype)

    def weight_change(self, weight: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
        """``W_new − W`` (float32, ``weight``'s shape) for the base weight ``weight`` at ``strength``, every type
        (DoRA rescales the merged weight's rows, so it needs the base); a base of another shape is refused."""
        base = weight.float()
        delta = self.low_rank_delta(torch.float32)
        if delta.numel() != base.numel():
            raise LoraFormatError(
                f"LoRA module {self.name} ({self.network_type}) changes a weight of {tuple(delta.shape)}, but the"
                f" base model's layer is {tuple(base.shape)}: the LoRA was trained for another model.",
                "Use it with the base model family it was trained for (its ss_base_model_version; see"
                " `lorakit lora inspect`).",
            )
        delta = delta.reshape(base.shape)
        magnitude = self.tensors.get("dora_scale")
        if magnitude is None:
            return delta * strength
        magnitude = magnitude.float()
        if magnitude.numel() == base.shape[0]:
            magnitude = magnitude.reshape(base.shape[0], *[1] * (base.dim() - 1))
        return dora_weight(base + delta, magnitude, strength) - base

    def low_rank_delta(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The module's own change before DoRA's rescale (for a DoRA module: the direction update)."""
        t = {k: v.to(dtype) for k, v in self.tensors.items() if k not in ("alpha", "dora_scale")}
        kind = self.network_type.removesuffix("+dora")
        if kind == "lora":
            down, up = t["lora_down.weight"], t["lora_up.weight"]
            if "lora_mid.weight" in t:  # LoCon with a Tucker core: up · mid · down along the kernel
                mid = t["lora_mid.weight"]
                core = torch.einsum("ijkl,jr,pi->prkl", mid, down.flatten(1), up.flatten(1))
                return core * self.scale
            delta = up.flatten(1) @ down.flatten(1)
            return delta.reshape(self.delta_shape()) * self.scale
        if kind == "loha":
            if "hada_t1" in t:
                raise LoraFormatError(f"Module {self.name} is a Tucker-factored LoHa, which lorakit cannot expand.")
            w1 = t["hada_w1_a"] @ t["hada_w1_b"]
            w2 = t["hada_w2_a"] @ t["hada_w2_b"]
            return w1 * w2 * self.scale
        if "lokr_t2" in t:
            raise LoraFormatError(f"Module {self.name} is a Tucker-factored LoKr, which lorakit cannot expand.")
        w1 = t["lokr_w1"] if "lokr_w1" in t else t["lokr_w1_a"] @ t["lokr_w1_b"]
        w2 = t["lokr_w2"] if "lokr_w2" in t else t["lokr_w2_a"] @ t["lokr_w2_b"].flatten(1)
        shape = (w1.shape[0] * w2.shape[0], w1.shape[1] * w2.shape[1], *w2.shape[2:])
        return lokr_delta(w1, w2, shape) * self.scale


@dataclass
class LoraState:
    """A whole LoRA: its modules in file order, its safetensors metadata, and keys we did not understand."""

    modules: dict[str, LoraModule]
    metadata: dict[str, str] = field(default_factory=dict)
    unknown_keys: list[str] = field(default_factory=list)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The flat kohya state dict again."""
        return {f"{m.name}.{suffix}": v for m in self.modules.values() for suffix, v in m.tensors.items()}


def group_modules(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, LoraModule], list[str]]:
    """Group a flat kohya state dict by module; return the modules and the keys that fit no kohya layout."""
    modules: dict[str, LoraModule] = {}
    unknown: list[str] = []
    for key, value in tensors.items():
        name, _, suffix = key.partition(".")
        if suffix not in KNOWN_SUFFIXES or prefix_of(name) not in PREFIXES:
            unknown.append(key)
            continue
        modules.setdefault(name, LoraModule(name)).tensors[suffix] = value
    for module in list(modules.values()):
        t = module.tensors
        complete = (
            ("lora_down.weight" in t and "lora_up.weight" in t)
            or {"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"} <= set(t)
            or (("lokr_w1" in t or "lokr_w1_a" in t) and ("lokr_w2" in t or "lokr_w2_a" in t))
        )
        if not complete:
            unknown.extend(f"{module.name}.{s}" for s in t)
            del modules[module.name]
    return modules, unknown


def from_tensors(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> LoraState:
    modules, unknown = group_modules(tensors)
    return LoraState(modules, dict(metadata or {}), unknown)


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; missing, pickled or damaged files raise a clear error."""
    from lorakit.lora.kohya import load_lora_file

    if Path(path).is_dir():
        raise LoraFormatError(f"{path} is a folder.", "Point at the .safetensors file inside it.")
    loaded = load_lora_file(path)
    return loaded.tensors, loaded.metadata


def read_lora(path: str | os.PathLike) -> LoraState:
    """Read a kohya LoRA file into modules. Keys outside the kohya layout are kept in ``unknown_keys``."""
    tensors, metadata = read_safetensors(path)
    return from_tensors(tensors, metadata)


def require_known(state: LoraState, source: str) -> None:
    """Refuse a LoRA whose keys we do not understand, naming them, rather than silently dropping them."""
    if state.unknown_keys:
        shown = ", ".join(state.unknown_keys[:8]) + (" ..." if len(state.unknown_keys) > 8 else "")
        raise LoraFormatError(
            f"{source} has {len(state.unknown_keys)} keys lorakit does not understand: {shown}",
            "If the file is in peft/diffusers or ComfyUI layout, convert it first with `lorakit lora convert`.",
        )
    if not state.modules:
        raise LoraFormatError(f"{source} holds no LoRA modules.", "Check that this is a LoRA file, not a checkpoint.")


def safetensors_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    from safetensors.torch import save

    return save({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata or None)


def write_lora(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    """Write a kohya LoRA atomically with fresh ``sshs_*`` hashes (``lorakit.lora.kohya.save_lora_file``)."""
    from lorakit.lora.kohya import save_lora_file

    metadata = {k: v for k, v in metadata.items() if k not in ("sshs_model_hash", "sshs_legacy_hash")}
    return save_lora_file(path, tensors, metadata)


def module_tensors(up: torch.Tensor, down: torch.Tensor, alpha: float, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The three kohya tensors of a plain LoRA module."""
    return {
        "lora_down.weight": down.to(dtype).contiguous(),
        "lora_up.weight": up.to(dtype).contiguous(),
        "alpha": torch.tensor(float(alpha), dtype=dtype),
    }


def split_for_kohya(delta_2d_up: torch.Tensor, delta_2d_down: torch.Tensor, shape: tuple[int, ...]):
    """Reshape 2-D factors back into kohya's conv layout: up ``(out, r, 1, 1)``, down ``(r, in, kh, kw)``."""
    if len(shape) == 4:
        return delta_2d_up.reshape(shape[0], -1, 1, 1), delta_2d_down.reshape(-1, *shape[1:])
    return delta_2d_up, delta_2d_down


def metadata_json(metadata: dict[str, str], key: str) -> dict | list | None:
    """A JSON-valued metadata entry (``ss_tag_frequency``...), or None when absent or not JSON."""
    raw = metadata.get(key)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return None
