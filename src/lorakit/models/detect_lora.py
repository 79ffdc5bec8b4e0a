"""What a LoRA / LyCORIS file is: network type, rank, and the base model it was trained for.

Everything comes from the header: tensor names and shapes, plus the ``ss_*`` (kohya sd-scripts) and
``modelspec.*`` metadata when present. Metadata wins over key heuristics because it is what the trainer
knew; key heuristics cover files written by tools that keep no metadata.
"""

from __future__ import annotations

import itertools
import json
import os
import struct
from collections import Counter
from pathlib import Path

from lorakit.models.header import TensorEntry

# Name fragments that only appear in adapter files (kohya, LyCORIS, diffusers/peft layouts).
ADAPTER_FRAGMENTS = (
    ".lora_down.",
    ".lora_up.",
    ".lora_A.",
    ".lora_B.",
    ".lora.down.",
    ".lora.up.",
    ".hada_w1_a",
    ".lokr_w1",
    ".oft_blocks",
    ".oft_diag",
    ".dora_scale",
)
ADAPTER_PREFIXES = ("lora_unet_", "lora_te", "lycoris_")
# An adapter file holds adapter tensors only (plus at most a few bundled embeddings), and a full model none,
# so the first few hundred names decide: scanning all of a 2,500-tensor checkpoint would cost milliseconds.
_SAMPLE = 256

# ss_base_model_version (sd-scripts) and modelspec.architecture values -> (family, variant, prediction)
_BASE_VERSIONS = {
    "sd_v1": ("sd1", None, "epsilon"),
    "sd_v2": ("sd2", None, None),
    "sd_v2_v": ("sd2", None, "v"),
    "sdxl_base_v1-0": ("sdxl", "base", "epsilon"),
    "sdxl_refiner_v1-0": ("sdxl", "refiner", "epsilon"),
    "flux1": ("flux", None, None),
    "sd3": ("sd3", None, None),
    "stable-diffusion-v1": ("sd1", None, "epsilon"),
    "stable-diffusion-v2-512": ("sd2", None, "epsilon"),
    "stable-diffusion-v2-768-v": ("sd2", None, "v"),
    "stable-diffusion-xl-v1-base": ("sdxl", "base", "epsilon"),
    "stable-diffusion-xl-v1-refiner": ("sdxl", "refiner", "epsilon"),
    "stable-diffusion-v3-medium": ("sd3", "medium", None),
    "stable-diffusion-v3.5-medium": ("sd3", "3.5-medium", None),
    "stable-diffusion-v3.5-large": ("sd3", "3.5-large", None),
    "flux-1-dev": ("flux", "dev", None),
    "flux-1-schnell": ("flux", "schnell", None),
}


def is_adapter(keys) -> bool:
    """True when tensor names look like a LoRA/LyCORIS adapter rather than full weights."""
    for key in itertools.islice(keys, _SAMPLE):
        if key.startswith(ADAPTER_PREFIXES) or key.endswith(".diff") or any(f in key for f in ADAPTER_FRAGMENTS):
            return True
    return False


def network_type(tensors: dict[str, TensorEntry], metadata: dict[str, str]) -> tuple[str, str]:
    """(type, how we know): lora, locon, loha, lokr, oft, dora, ia3 or full (LyCORIS 'full'/diff)."""
    args = _network_args(metadata)
    module = metadata.get("ss_network_module", "")
    if "lycoris" in module and args.get("algo"):
        algo = str(args["algo"]).lower()
        if algo in ("lora", "locon") and str(args.get("dora_wd", "")).lower() == "true":
            return "dora", "metadata (ss_network_args algo + dora_wd)"
        return ("locon" if algo == "lora" else algo), "metadata (ss_network_args algo)"
    keys = tensors.keys()
    if any(".hada_w1_a" in k for k in keys):
        return "loha", "keys (hada_w1_a/b)"
    if any(".lokr_w1" in k for k in keys):
        return "lokr", "keys (lokr_w1/w2)"
    if any(".oft_blocks" in k or ".oft_diag" in k for k in keys):
        return "oft", "keys (oft_blocks)"
    if any(".dora_scale" in k or ".lora_magnitude_vector" in k for k in keys):
        return "dora", "keys (dora_scale)"
    conv = any(
        (".lora_down." in k or ".lora_A." in k) and len(e.shape) == 4 and e.shape[2:] != (1, 1)
        for k, e in tensors.items()
    )
    if conv or args.get("conv_dim"):
        return "locon", "keys (3x3 convolution layers)" if conv else "metadata (conv_dim)"
    return "lora", "keys (lora_down/lora_up)"


def _network_args(metadata: dict[str, str]) -> dict:
    try:
        args = json.loads(metadata.get("ss_network_args") or "{}")
    except json.JSONDecodeError:
        return {}
    return args if isinstance(args, dict) else {}


def rank_of(tensors: dict[str, TensorEntry], metadata: dict[str, str]) -> int | None:
    """The most common rank over modules (per-module ranks can differ after a dynamic resize)."""
    ranks: Counter[int] = Counter()
    for key, entry in tensors.items():
        if not entry.shape:
            continue
        if ".lora_down." in key or ".lora_A." in key or ".lora.down." in key or ".hada_w1_b" in key:
            ranks[entry.shape[0]] += 1
        elif ".lokr_w2_a" in key or ".lokr_w1_a" in key:
            ranks[entry.shape[-1]] += 1
    if ranks:
        return ranks.most_common(1)[0][0]
    dim = metadata.get("ss_network_dim")
    return int(dim) if dim and dim.isdigit() else None


def ranks_of(tensors: dict[str, TensorEntry]) -> list[int]:
    """Every rank the modules use, sorted: one value for a fixed-rank LoRA, a spread after a dynamic resize."""
    ranks = set()
    for key, entry in tensors.items():
        if entry.shape and (".lora_down." in key or ".lora_A." in key or ".lora.down." in key or ".hada_w1_b" in key):
            ranks.add(entry.shape[0])
    return sorted(ranks)


_SCALAR_FORMATS = {"F32": "<f", "F16": "<e", "F64": "<d"}


def alpha_values(path: str | os.PathLike, tensors: dict[str, TensorEntry], data_start: int) -> list[float]:
    """The distinct values of a kohya file's ``.alpha`` scalars, read straight from their few bytes."""
    wanted = [e for k, e in tensors.items() if k.endswith(".alpha") and e.numel == 1]
    values: set[float] = set()
    if not wanted:
        return []
    with open(path, "rb") as f:
        for entry in wanted[:4096]:
            f.seek(data_start + entry.start)
            raw = f.read(entry.end - entry.start)
            if entry.dtype == "BF16" and len(raw) == 2:
                values.add(struct.unpack("<f", b"\x00\x00" + raw)[0])
            elif entry.dtype in _SCALAR_FORMATS and len(raw) == struct.calcsize(_SCALAR_FORMATS[entry.dtype]):
                values.add(struct.unpack(_SCALAR_FORMATS[entry.dtype], raw)[0])
    return sorted(round(v, 6) for v in values)


def peft_alphas(path: str | os.PathLike) -> list[float]:
    """``lora_alpha`` (and any ``alpha_pattern`` values) from the ``adapter_config.json`` beside a peft
    ``adapter_model.safetensors``; [] when there is none."""
    config_file = Path(path).parent / "adapter_config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(config, dict):
        return []
    found = [config.get("lora_alpha"), *(config.get("alpha_pattern") or {}).values()]
    return sorted({float(a) for a in found if isinstance(a, int | float) and not isinstance(a, bool)})


def diffusers_alphas(metadata: dict[str, str]) -> list[float]:
    """Alphas from the ``lora_adapter_metadata`` entry diffusers writes (``unet.lora_alpha``, patterns)."""
    try:
        packed = json.loads(metadata.get("lora_adapter_metadata") or "{}")
    except ValueError:
        return []
    found: list = []
    for key, value in packed.items() if isinstance(packed, dict) else ():
        if key.endswith(".lora_alpha"):
            found.append(value)
        elif key.endswith(".alpha_pattern") and isinstance(value, dict):
            found.extend(value.values())
    return sorted({float(a) for a in found if isinstance(a, int | float) and not isinstance(a, bool)})


def _in_features(tensors: dict[str, TensorEntry], *fragments: str) -> int | None:
    for key, entry in tensors.items():
        if all(f in key for f in fragments) and (".lora_down." in key or ".lora_A." in key) and len(entry.shape) >= 2:
            return entry.shape[1]
    return None


def base_of(tensors: dict[str, TensorEntry], metadata: dict[str, str]) -> tuple[dict, str]:
    """({family, variant, prediction}, how we know) for the base model the adapter was trained on."""
    for field in ("ss_base_model_version", "modelspec.architecture"):
        value = metadata.get(field, "").split("/")[0].strip().lower()
        if value in _BASE_VERSIONS:
            family, variant, prediction = _BASE_VERSIONS[value]
            if (
                metadata.get("ss_v_parameterization", "").lower() == "true"
                or metadata.get("modelspec.prediction_type") == "v"
            ):
                prediction = "v"
            return {"family": family, "variant": variant, "prediction": prediction}, f"metadata ({field})"
    if metadata.get("ss_v2", "").lower() == "true":
        prediction = "v" if metadata.get("ss_v_parameterization", "").lower() == "true" else None
        return {"family": "sd2", "variant": None, "prediction": prediction}, "metadata (ss_v2)"

    keys = list(tensors)
    has = lambda *parts: any(all(p in k for p in parts) for k in keys)  # noqa: E731
    if has("double_blocks") or has("single_blocks") or has("single_transformer_blocks"):
        return {"family": "flux", "variant": None, "prediction": None}, "keys (Flux double/single blocks)"
    if has("joint_blocks") or has("transformer_blocks", "context_block"):
        return {"family": "sd3", "variant": None, "prediction": None}, "keys (SD3 joint blocks)"
    # The cross-attention input width is the surest sign: it is the text encoder's width, fixed per family.
    context = _in_features(tensors, "attn2", "to_k")
    if context in (2048, 1280):
        variant = "base" if context == 2048 else "refiner"
        return {"family": "sdxl", "variant": variant, "prediction": None}, f"keys (cross-attention width {context})"
    if context in (768, 1024):
        family = "sd1" if context == 768 else "sd2"
        return {"family": family, "variant": None, "prediction": None}, f"keys (cross-attention width {context})"
    if has("lora_te2_") or has("text_encoder_2"):
        return {"family": "sdxl", "variant": "base", "prediction": None}, "keys (two text encoders)"
    if has("input_blocks") or has("output_blocks") or has("middle_block"):
        # kohya writes SDXL UNet keys with the original SGM names; SD1/SD2 use diffusers names.
        return {"family": "sdxl", "variant": "base", "prediction": None}, "keys (SGM UNet names)"
    width = _in_features(tensors, "lora_te", "self_attn", "q_proj") or _in_features(tensors, "text_encoder", "q_proj")
    if width in (768, 1024):
        family = "sd1" if width == 768 else "sd2"
        return {"family": family, "variant": None, "prediction": None}, f"keys (text encoder width {width})"
    return {"family": None, "variant": None, "prediction": None}, "unknown: no metadata and no telling keys"
