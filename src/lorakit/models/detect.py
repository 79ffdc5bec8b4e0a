"""What a model file or folder is, from its header alone: never from its name or size, never by loading it.

``detect(path)`` reads a ``.safetensors`` header (see :mod:`lorakit.models.header`), a diffusers folder's
``model_index.json`` and component configs, or the first bytes of anything else, and returns a
:class:`ModelInfo`: kind (checkpoint, unet/transformer, vae, text encoder, lora, embedding, ...), family
(sd1, sd2, sdxl, sd3, flux), variant, prediction type, precision, parameter count, size and metadata.

How families are told apart (the tensor shapes that differ between architectures):
- SD1 vs SD2: cross-attention width (``attn2.to_k`` input) 768 (CLIP-L) vs 1024 (OpenCLIP-H).
- SDXL base vs refiner: the size-conditioning embedding ``label_emb.0.0`` takes 2816 vs 2560 inputs
  (the refiner has no CLIP-L and adds an aesthetic score), and the refiner's UNet is 384 wide, not 320.
- Flux dev vs schnell: dev is guidance-distilled and has a ``guidance_in`` embedder; schnell has none.
- SD3: ``joint_blocks`` (MMDiT); 3.5 Medium adds ``attn2`` in its blocks (MMDiT-X); 3.5 Large is 2432 wide.
- Prediction type (epsilon vs v) is not in the weights. We use, in order: metadata
  (``modelspec.prediction_type``, a ``-v`` architecture), a ``v_pred`` marker key (the convention
  ComfyUI reads), the file name (``768-v``, ``vpred``), then the family default (SD1/SDXL: epsilon;
  SD2: unknown, because 2.x-768 models are v and 2.x-512 ones epsilon; Flux/SD3: flow matching).
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lorakit.errors import ModelError
from lorakit.models import detect_lora
from lorakit.models.header import TensorEntry, read_header

PRECISION_NAMES = {"F16": "fp16", "BF16": "bf16", "F32": "fp32", "F64": "fp64", "F8_E4M3": "fp8_e4m3fn"}
PRECISION_NAMES |= {"F8_E5M2": "fp8_e5m2", "F4": "fp4"}
PICKLE_SUFFIXES = {".ckpt", ".pt", ".pth", ".bin", ".pkl"}
FAMILY_LABELS = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL", "sd3": "SD3", "flux": "Flux.1"}
_DIFFUSION_PREFIXES = ("model.diffusion_model.", "", "diffusion_model.", "unet.", "transformer.", "model.")
_V_NAME = re.compile(r"(768-v|[-_.]v[-_]?pred|vpred|v-prediction)", re.IGNORECASE)


@dataclass
class ModelInfo:
    """What :func:`detect` found. ``kind`` and ``family`` drive the rest of lorakit."""

    path: str
    name: str
    kind: str  # checkpoint|unet|transformer|vae|text_encoder|lora|embedding|diffusers|pickle|gguf|tagger|unknown
    format: str  # safetensors|diffusers|pickle|gguf|onnx
    family: str | None = None  # sd1|sd2|sdxl|sd3|flux
    variant: str | None = None  # base|refiner|dev|schnell|inpaint|clip-l|clip-g|t5-xxl|...
    prediction: str | None = None  # epsilon|v|flow|None (unknown)
    prediction_source: str | None = None
    components: list[str] = field(default_factory=list)
    network: str | None = None  # lora|locon|loha|lokr|oft|dora (adapters only)
    network_source: str | None = None
    rank: int | None = None  # the most common rank
    alpha: float | None = None  # the most common alpha; None when the file does not store one
    ranks: list[int] = field(default_factory=list)  # every rank used (several after a dynamic resize)
    alphas: list[float] = field(default_factory=list)  # every alpha stored (tensors, metadata or adapter config)
    base_source: str | None = None  # adapters: how we know the base family
    precision: str | None = None
    dtypes: dict[str, int] = field(default_factory=dict)  # parameters per dtype
    parameters: int = 0
    tensors: int = 0
    file_size: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    safe: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """A short description in users' words, e.g. ``SDXL refiner checkpoint`` or ``Flux.1 dev LoRA``."""
        family = FAMILY_LABELS.get(self.family or "", self.family or "")
        if self.kind == "lora":
            network = {"lora": "LoRA", "dora": "DoRA", "oft": "OFT"}.get(self.network or "lora")
            network = network or f"{self.network.capitalize()} (LyCORIS)"  # type: ignore[union-attr]
            variant = "" if self.variant == "base" else self.variant or ""
            return " ".join(p for p in (family, variant, network) if p)
        parts = [family, self.variant or "", self.kind.replace("_", " ")]
        return " ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"label": self.label}


def detect(path: str | os.PathLike) -> ModelInfo:
    """Detect what ``path`` is (a file or a diffusers folder). Raises ModelError for corrupt files."""
    p = Path(path)
    if p.is_dir():
        return _detect_diffusers(p)
    if not p.exists():
        raise ModelError(f"No file or folder at {p}.", "Check the path; `lorakit models list` shows your models.")
    size = p.stat().st_size
    with open(p, "rb") as f:
        magic = f.read(16)
    base = {"path": str(p), "name": p.name, "file_size": size}
    # Zip (PyTorch's archive format) or a raw pickle stream (protocol 2-5 opcode).
    if magic.startswith(b"PK\x03\x04") or (magic[:1] == b"\x80" and magic[1:2] in b"\x02\x03\x04\x05"):
        return _pickle_info(p, magic, base)
    if magic.startswith(b"GGUF"):
        return ModelInfo(
            **base, kind="gguf", format="gguf", notes=["GGUF (quantized) files can be used to generate, not to train."]
        )
    if magic.lstrip()[:1] == b"<" and re.match(rb"\s*<(!doctype|html|\?xml)", magic, re.IGNORECASE):
        raise ModelError(
            f"{p.name} is a web page (HTML), not a model.",
            "The link probably pointed at a download page or a login page: download it again with"
            " `lorakit models download <link>`, which follows the real file link.",
        )
    if p.suffix.lower() == ".onnx":
        kind = "tagger" if (p.parent / "selected_tags.csv").exists() else "unknown"
        return ModelInfo(**base, kind=kind, format="onnx")
    if p.suffix.lower() in PICKLE_SUFFIXES:
        # Not zip or pickle magic, but a pickle-style name: still refuse to guess further.
        return _pickle_info(p, magic, base)
    header = read_header(p)
    info = ModelInfo(**base, kind="unknown", format="safetensors")
    info = describe_weights(header.tensors, header.metadata, info, header.params_by_dtype)
    if info.kind == "lora":
        _read_alphas(p, header, info)
    return info


def _read_alphas(p: Path, header, info: ModelInfo) -> None:
    """A LoRA's alphas: its ``.alpha`` tensors (kohya), else the peft ``adapter_config.json`` beside it, else
    diffusers' ``lora_adapter_metadata``, else the ``ss_network_alpha`` metadata (already in ``info.alpha``)."""
    alphas = (
        detect_lora.alpha_values(p, header.tensors, header.data_start)
        or detect_lora.peft_alphas(p)
        or detect_lora.diffusers_alphas(header.metadata)
    )
    if alphas:
        info.alphas = alphas  # what the file applies; info.alpha stays what the trainer recorded, when it did
        if info.alpha is None and len(alphas) == 1:
            info.alpha = alphas[0]
    elif info.alpha is not None:
        info.alphas = [info.alpha]


def _pickle_info(p: Path, magic: bytes, base: dict) -> ModelInfo:
    """A pickle-based checkpoint: reported as unsafe. We only look at magic bytes and zip entry names."""
    notes = [
        "This is a pickle file (.ckpt/.pt/.bin): loading it can run arbitrary code, so lorakit does not open it.",
        "Get the .safetensors version of this model (most model pages offer one).",
    ]
    if magic.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(p) as archive:
                if any(n.endswith("data.pkl") for n in archive.namelist()):
                    notes.insert(1, "It is a PyTorch zip checkpoint (contains data.pkl).")
        except zipfile.BadZipFile:
            notes.insert(1, "Its zip structure is damaged (the file may be incomplete).")
    return ModelInfo(**base, kind="pickle", format="pickle", safe=False, notes=notes)


def _find(tensors: dict[str, TensorEntry], name: str) -> TensorEntry | None:
    for prefix in _DIFFUSION_PREFIXES:
        entry = tensors.get(prefix + name)
        if entry is not None:
            return entry
    return None


def _count_blocks(tensors: dict[str, TensorEntry], marker: str) -> int:
    pattern = re.compile(re.escape(marker) + r"(\d+)\.")
    return len({m.group(1) for k in tensors if (m := pattern.search(k))})


def _diffusion(tensors: dict[str, TensorEntry]) -> dict[str, Any] | None:
    """Family/variant of the denoiser (UNet or transformer) in these tensors, or None if there is none."""
    first = _find(tensors, "input_blocks.0.0.weight") or _find(tensors, "conv_in.weight")
    if (
        first is not None
        and len(first.shape) == 4
        and (_find(tensors, "input_blocks.0.0.weight") or _find(tensors, "down_blocks.0.resnets.0.conv1.weight"))
    ):
        variant = {9: "inpaint", 8: "instruct-pix2pix"}.get(first.shape[1])
        adm = _find(tensors, "label_emb.0.0.weight") or _find(tensors, "add_embedding.linear_1.weight")
        if adm is not None:
            variant = {2816: "base", 2560: "refiner"}.get(adm.shape[1], variant)
            return {"family": "sdxl", "variant": variant, "kind": "unet"}
        context = next((e.shape[1] for k, e in tensors.items() if k.endswith("attn2.to_k.weight")), None)
        family = {768: "sd1", 1024: "sd2"}.get(context or 0)
        return {"family": family, "variant": variant, "kind": "unet"}
    if _find(tensors, "double_blocks.0.img_attn.qkv.weight") is not None:
        dev = _find(tensors, "guidance_in.in_layer.weight") is not None
        img_in = _find(tensors, "img_in.weight")
        variant = "fill" if img_in is not None and img_in.shape[-1] == 384 else ("dev" if dev else "schnell")
        return {"family": "flux", "variant": variant, "kind": "transformer"}
    if _find(tensors, "single_transformer_blocks.0.attn.to_q.weight") is not None:
        dev = _find(tensors, "time_text_embed.guidance_embedder.linear_1.weight") is not None
        return {"family": "flux", "variant": "dev" if dev else "schnell", "kind": "transformer"}
    patch = _find(tensors, "x_embedder.proj.weight") or _find(tensors, "pos_embed.proj.weight")
    if patch is not None and (
        _find(tensors, "joint_blocks.0.x_block.attn.qkv.weight") is not None
        or _find(tensors, "transformer_blocks.0.attn.add_q_proj.weight") is not None
    ):
        x_attn = _find(tensors, "joint_blocks.0.x_block.attn2.qkv.weight") or _find(
            tensors, "transformer_blocks.0.attn2.to_q.weight"
        )
        variant = "3.5-large" if patch.shape[0] == 2432 else ("3.5-medium" if x_attn is not None else "medium")
        return {"family": "sd3", "variant": variant, "kind": "transformer"}
    return None


def _vae(tensors: dict[str, TensorEntry], name: str) -> dict[str, Any] | None:
    for prefix in ("", "first_stage_model.", "vae."):
        conv = tensors.get(prefix + "decoder.conv_in.weight")
        if conv is not None and len(conv.shape) == 4:
            latent = conv.shape[1]
            if latent == 4:
                family = "sdxl" if "xl" in name.lower() else "sd1"
                note = "SD1/SD2 and SDXL VAEs have the same layout; the family is a guess from the file name."
            else:
                family = "sd3" if "sd3" in name.lower() else "flux"
                note = "Flux and SD3 VAEs (16 latent channels) have the same layout; the family is a guess."
            return {"family": family, "latent_channels": latent, "note": note}
    return None


def _text_encoder(tensors: dict[str, TensorEntry]) -> str | None:
    widths = {768: "clip-l", 1024: "clip-h", 1280: "clip-g"}
    for key, entry in tensors.items():
        if key.endswith("encoder.layers.0.self_attn.q_proj.weight"):
            return widths.get(entry.shape[0], "clip")
        if key.endswith("transformer.resblocks.0.attn.in_proj_weight") and key.count(".") <= 5:
            return widths.get(entry.shape[1], "clip")
        if key.endswith("encoder.block.0.layer.0.SelfAttention.q.weight"):
            return {4096: "t5-xxl", 1024: "t5-large"}.get(entry.shape[1], "t5")
    return None


def _components(tensors: dict[str, TensorEntry]) -> list[str]:
    prefixes = {
        "model.diffusion_model.": "unet",
        "first_stage_model.": "vae",
        "vae.": "vae",
        "cond_stage_model.": "text_encoder",
        "conditioner.embedders.0.": "text_encoder",
        "conditioner.embedders.1.": "text_encoder_2",
        "text_encoders.clip_l.": "clip_l",
        "text_encoders.clip_g.": "clip_g",
        "text_encoders.t5xxl.": "t5xxl",
    }
    names = "\n" + "\n".join(tensors)
    found: list[str] = []
    for prefix, name in prefixes.items():
        if name not in found and ("\n" + prefix) in names:  # a substring scan in C, not a loop over keys
            found.append(name)
    return found


def _prediction(info: ModelInfo, tensors: dict[str, TensorEntry]) -> None:
    md = info.metadata
    if md.get("modelspec.prediction_type") in ("v", "epsilon"):
        info.prediction = md["modelspec.prediction_type"]
        info.prediction_source = "metadata (modelspec.prediction_type)"
    elif md.get("modelspec.architecture", "").split("/")[0].endswith("-v"):
        info.prediction, info.prediction_source = "v", "metadata (modelspec.architecture)"
    elif "v_pred" in tensors:
        info.prediction, info.prediction_source = "v", "key (v_pred marker)"
    elif _V_NAME.search(info.name):
        info.prediction, info.prediction_source = "v", "file name"
    elif info.family in ("flux", "sd3"):
        info.prediction, info.prediction_source = "flow", "family (rectified flow)"
    elif info.family in ("sd1", "sdxl"):
        info.prediction, info.prediction_source = "epsilon", "family default"
    elif info.family == "sd2":
        info.notes.append(
            "SD 2.x comes as v-prediction (768, e.g. 2.1) or epsilon (512-base); the weights do not say which."
            " Set prediction in the training config if the model page says v-prediction."
        )


def describe_weights(
    tensors: dict[str, TensorEntry],
    metadata: dict[str, str],
    info: ModelInfo,
    params_by_dtype: dict[str, int] | None = None,
) -> ModelInfo:
    """Fill ``info`` from a header's tensors and metadata (``params_by_dtype`` when the header counted them)."""
    info.metadata = dict(metadata)
    info.tensors = len(tensors)
    raw = params_by_dtype
    if raw is None:
        raw = {}
        for entry in tensors.values():
            raw[entry.dtype] = raw.get(entry.dtype, 0) + math.prod(entry.shape)
    by_dtype: Counter[str] = Counter()
    for dtype, count in raw.items():
        by_dtype[PRECISION_NAMES.get(dtype, dtype.lower())] += count
    info.dtypes = dict(by_dtype.most_common())
    info.parameters = sum(by_dtype.values())
    info.precision = by_dtype.most_common(1)[0][0] if by_dtype else None

    if detect_lora.is_adapter(tensors):
        info.kind = "lora"
        info.network, info.network_source = detect_lora.network_type(tensors, metadata)
        info.rank = detect_lora.rank_of(tensors, metadata)
        info.ranks = detect_lora.ranks_of(tensors)
        alpha = metadata.get("ss_network_alpha")
        try:
            info.alpha = float(alpha) if alpha else None
        except ValueError:
            info.alpha = None
        base, info.base_source = detect_lora.base_of(tensors, metadata)
        info.family, info.variant, info.prediction = base["family"], base["variant"], base["prediction"]
        if info.prediction:
            info.prediction_source = info.base_source
        return info
    if tensors and (
        set(tensors) <= {"emb_params", "clip_l", "clip_g"} or all(k.startswith("string_to_param") for k in tensors)
    ):
        info.kind = "embedding"
        if "clip_g" in tensors:
            info.family = "sdxl"
        elif "emb_params" in tensors:
            info.family = {768: "sd1", 1024: "sd2"}.get(tensors["emb_params"].shape[-1])
        return info

    diffusion = _diffusion(tensors)
    if diffusion:
        info.family, info.variant = diffusion["family"], diffusion["variant"]
        info.components = _components(tensors) or [diffusion["kind"]]
        info.kind = "checkpoint" if len(info.components) > 1 else diffusion["kind"]
        _prediction(info, tensors)
        return info
    vae = _vae(tensors, info.name)
    if vae:
        info.kind, info.family = "vae", vae["family"]
        info.variant = f"{vae['latent_channels']}-channel"
        info.notes.append(vae["note"])
        return info
    encoder = _text_encoder(tensors)
    if encoder:
        info.kind, info.variant = "text_encoder", encoder
        return info
    info.notes.append("The tensor names match no model family lorakit knows.")
    return info


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError(f"{path} is not valid JSON.", "Download the model folder again.") from None
    return data if isinstance(data, dict) else {}


def _detect_diffusers(folder: Path) -> ModelInfo:
    index = _read_json(folder / "model_index.json")
    if not index:
        if (folder / "adapter_config.json").is_file() or any(folder.glob("*/adapter_config.json")):
            raise ModelError(
                f"{folder} is a peft LoRA adapter folder, not a model.",
                f"Look inside it with `lorakit lora inspect {folder}`.",
            )
        raise ModelError(
            f"{folder} is a folder without model_index.json, so it is not a diffusers model.",
            "Point at a .safetensors file, or at the top folder of a diffusers model.",
        )
    pipeline = str(index.get("_class_name", ""))
    components = [k for k, v in index.items() if not k.startswith("_") and isinstance(v, list) and v[0]]
    info = ModelInfo(path=str(folder), name=folder.name, kind="diffusers", format="diffusers", components=components)
    info.metadata = {"pipeline": pipeline, "diffusers_version": str(index.get("_diffusers_version", ""))}
    unet = _read_json(folder / "unet" / "config.json")
    transformer = _read_json(folder / "transformer" / "config.json")
    if pipeline.startswith("StableDiffusionXL"):
        refiner = index.get("requires_aesthetics_score") or "text_encoder" not in components
        info.family, info.variant = "sdxl", "refiner" if refiner else "base"
    elif pipeline.startswith("StableDiffusion3"):
        info.family = "sd3"
        info.variant = "3.5-large" if transformer.get("num_layers") == 38 else "medium"
    elif pipeline.startswith("Flux"):
        info.family, info.variant = "flux", "dev" if transformer.get("guidance_embeds") else "schnell"
    elif pipeline.startswith("StableDiffusion"):
        info.family = {768: "sd1", 1024: "sd2"}.get(unet.get("cross_attention_dim"))
        if unet.get("in_channels") == 9:
            info.variant = "inpaint"
    scheduler = _read_json(folder / "scheduler" / "scheduler_config.json")
    if scheduler.get("prediction_type") in ("epsilon", "v_prediction"):
        info.prediction = "v" if scheduler["prediction_type"] == "v_prediction" else "epsilon"
        info.prediction_source = "scheduler config (prediction_type)"
    elif info.family in ("flux", "sd3"):
        info.prediction, info.prediction_source = "flow", "family (rectified flow)"
    by_dtype: Counter[str] = Counter()
    for name in components:
        sub = folder / name
        weights = sorted(sub.glob("*.safetensors"))
        pickles = [w for w in sub.glob("*") if w.suffix in PICKLE_SUFFIXES]
        if pickles and not weights:
            info.safe = False
            info.notes.append(f"{name}/ has only pickle weights ({pickles[0].name}); lorakit will not load them.")
        for weight in weights:
            info.file_size += weight.stat().st_size
            for entry in read_header(weight).tensors.values():
                by_dtype[PRECISION_NAMES.get(entry.dtype, entry.dtype.lower())] += entry.numel
    info.dtypes = dict(by_dtype.most_common())
    info.parameters = sum(by_dtype.values())
    info.precision = by_dtype.most_common(1)[0][0] if by_dtype else None
    return info
