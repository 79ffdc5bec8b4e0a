"""Everything a LoRA file says about itself: base model, network, per-module rank/alpha, training record, hashes.

The base model and network type come from ``lorakit.models.detect`` (header and metadata); the module
view from :mod:`lorakit.lora.modules`; the training record from the ``ss_*`` and ``modelspec.*`` metadata
that sd-scripts (and lorakit) write (REFERENCE.md).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from lorakit.errors import LorakitError
from lorakit.lora.modules import PREFIXES, LoraModule, LoraState, metadata_json

# Training settings worth showing, in the words a person would use.
TRAINING_FIELDS = {
    "ss_sd_model_name": "base model file",
    "ss_resolution": "resolution",
    "ss_num_train_images": "training images",
    "ss_epoch": "epochs done",
    "ss_steps": "steps done",
    "ss_max_train_steps": "planned steps",
    "ss_learning_rate": "learning rate",
    "ss_unet_lr": "UNet learning rate",
    "ss_text_encoder_lr": "text encoder learning rate",
    "ss_optimizer": "optimizer",
    "ss_lr_scheduler": "LR scheduler",
    "ss_network_module": "network module",
    "ss_network_dim": "rank (network_dim)",
    "ss_network_alpha": "alpha (network_alpha)",
    "ss_network_args": "network args",
    "ss_clip_skip": "clip skip",
    "ss_noise_offset": "noise offset",
    "ss_min_snr_gamma": "min SNR gamma",
    "ss_mixed_precision": "mixed precision",
    "ss_seed": "seed",
    "ss_training_started_at": "started at",
    "ss_training_finished_at": "finished at",
    "ss_output_name": "output name",
    "ss_training_comment": "comment",
}


@dataclass
class ModuleInfo:
    name: str
    part: str  # unet, te, te1, te2, te3
    layer: str  # linear, conv 1x1, conv 3x3 ...
    network: str
    rank: int
    alpha: float
    strength: float  # ‖delta‖_F: which layers the LoRA actually changed, and how much


@dataclass
class InspectReport:
    path: str
    file_size: int
    layout: str
    family: str | None
    variant: str | None
    base_label: str
    base_source: str | None
    network: str | None
    modules: list[ModuleInfo] = field(default_factory=list)
    parts: dict[str, int] = field(default_factory=dict)  # modules per part
    ranks: dict[int, int] = field(default_factory=dict)  # modules per rank
    alphas: dict[float, int] = field(default_factory=dict)
    conv_modules: int = 0
    training: dict[str, str] = field(default_factory=dict)
    trigger_words: list[str] = field(default_factory=list)
    top_tags: list[tuple[str, int]] = field(default_factory=list)
    dataset_dirs: dict[str, Any] = field(default_factory=dict)
    modelspec: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str | None] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    unknown_keys: list[str] = field(default_factory=list)

    @property
    def text_encoder_trained(self) -> bool:
        return any(part != "unet" for part in self.parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ranks"] = {str(k): v for k, v in self.ranks.items()}
        data["alphas"] = {str(k): v for k, v in self.alphas.items()}
        data["top_tags"] = [{"tag": t, "count": c} for t, c in self.top_tags]
        data["text_encoder_trained"] = self.text_encoder_trained
        return data


def module_info(module: LoraModule) -> ModuleInfo:
    part = module.prefix.removeprefix("lora_")
    kernel = module.kernel
    layer = f"conv {kernel[0]}x{kernel[1]}" if kernel else ("conv" if module.is_conv else "linear")
    return ModuleInfo(module.name, part, layer, module.network_type, module.rank, module.alpha, _strength(module))


def _strength(module: LoraModule) -> float:
    t = module.tensors
    if module.network_type in ("lora", "lora+dora") and "lora_mid.weight" not in t:
        # DoRA: the strength of its direction update (its magnitudes need the base weights to weigh).
        # ‖U·D‖² = trace((UᵀU)(DDᵀ)): r×r products instead of the out×in change.
        up, down = t["lora_up.weight"].flatten(1).float(), t["lora_down.weight"].flatten(1).float()
        gram = (up.T @ up) * (down @ down.T)
        return float(gram.sum().clamp_min(0).sqrt()) * abs(module.scale)
    try:
        return float(torch.linalg.matrix_norm(module.low_rank_delta().flatten(1)))
    except LorakitError:  # Tucker LoHa/LoKr cannot be expanded
        return float("nan")


def tag_counts(metadata: dict[str, str]) -> Counter:
    """Tag → count summed over the dataset folders of ``ss_tag_frequency``."""
    counts: Counter = Counter()
    raw = metadata_json(metadata, "ss_tag_frequency")
    if isinstance(raw, dict):
        for folder in raw.values():
            if isinstance(folder, dict):
                for tag, count in folder.items():
                    try:
                        counts[tag.strip()] += int(count)
                    except (TypeError, ValueError):
                        continue
    return counts


def trigger_words(metadata: dict[str, str]) -> list[str]:
    """Trigger words: modelspec.trigger_phrase, else the class tokens in ``ss_dataset_dirs`` folder names."""
    phrase = metadata.get("modelspec.trigger_phrase")
    if phrase:
        return [w.strip() for w in phrase.split(",") if w.strip()]
    words = []
    dirs = metadata_json(metadata, "ss_dataset_dirs")
    for folder in dirs or {}:
        repeats, _, name = str(folder).partition("_")
        if repeats.isdigit() and name and name not in words:
            words.append(name.replace("_", " "))
    return words


_TIMESTAMPS = ("ss_training_started_at", "ss_training_finished_at")


def _readable(key: str, value: str) -> str:
    """A metadata value as a person reads it: sd-scripts writes times as unix seconds (``1732998278.5``)."""
    if key in _TIMESTAMPS:
        try:
            moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            return value
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return value


def inspect_state(state: LoraState, *, path: str = "", layout: str = "kohya", file_size: int = 0) -> InspectReport:
    """Inspect LoRA modules already in memory (also used after convert/resize/merge)."""
    from lorakit.models.detect import FAMILY_LABELS
    from lorakit.models.detect_lora import base_of, network_type
    from lorakit.models.header import TensorEntry

    entries = {k: TensorEntry(str(v.dtype), tuple(v.shape), 0, 0) for k, v in state.tensors().items()}
    base, source = base_of(entries, state.metadata)
    network, _ = network_type(entries, state.metadata) if entries else (None, None)
    modules = [module_info(m) for m in state.modules.values()]
    meta = state.metadata
    label = " ".join(p for p in (FAMILY_LABELS.get(base["family"] or "", base["family"] or ""), base["variant"]) if p)
    return InspectReport(
        path=path,
        file_size=file_size,
        layout=layout,
        family=base["family"],
        variant=base["variant"],
        base_label=label or "unknown base model",
        base_source=source,
        network=network,
        modules=modules,
        parts=dict(Counter(m.part for m in modules)),
        ranks=dict(sorted(Counter(m.rank for m in modules).items())),
        alphas=dict(sorted(Counter(m.alpha for m in modules).items())),
        conv_modules=sum(m.layer.startswith("conv") for m in modules),
        training={
            label: _readable(key, meta[key])
            for key, label in TRAINING_FIELDS.items()
            if meta.get(key) not in (None, "None")
        },
        trigger_words=trigger_words(meta),
        top_tags=tag_counts(meta).most_common(20),
        dataset_dirs=metadata_json(meta, "ss_dataset_dirs") or {},
        modelspec={k.removeprefix("modelspec."): v for k, v in meta.items() if k.startswith("modelspec.")},
        hashes={"sshs_model_hash": meta.get("sshs_model_hash"), "sshs_legacy_hash": meta.get("sshs_legacy_hash")},
        metadata=dict(meta),
        unknown_keys=list(state.unknown_keys),
    )


def inspect_lora(path: str | os.PathLike, *, full_hash: bool = True) -> InspectReport:
    """Inspect a LoRA file in any layout lorakit reads. ``full_hash`` adds the file's sha256 and checks sshs."""
    from lorakit.lora.convert import ADAPTER_CONFIG, ADAPTER_WEIGHTS, detect_layout, read_any, to_kohya
    from lorakit.lora.modules import from_tensors, read_safetensors

    p = Path(path)
    if p.is_dir() or (p.name == ADAPTER_WEIGHTS and (p.parent / ADAPTER_CONFIG).exists()):
        # A peft adapter (a folder, or the weights inside one): read with its adapter_config.json, which holds
        # lora_alpha; the file alone would make every alpha look equal to the rank.
        state = read_any(p)
        files = [f for f in (p.rglob("*") if p.is_dir() else [p]) if f.is_file()]
        report = inspect_state(state, path=str(p), layout="peft", file_size=sum(f.stat().st_size for f in files))
        if p.is_dir():
            return report  # a folder has no single-file hashes
        metadata = state.metadata
    else:
        tensors, metadata = read_safetensors(p)
        try:
            layout = detect_layout(tensors)
            state = to_kohya(tensors, metadata) if layout != "kohya" else from_tensors(tensors, metadata)
        except LorakitError:  # an odd layout is still worth describing: its metadata and the keys we did not get
            layout = "unknown"
            state = from_tensors(tensors, metadata)
        report = inspect_state(state, path=str(p), layout=layout, file_size=p.stat().st_size)
    if full_hash:
        from lorakit.models.hashes import legacy_hash_file, sha256_file, short_hash, sshs_hashes_of_file

        sha = sha256_file(p)
        report.hashes["sha256"] = sha
        report.hashes["autov2"] = short_hash(sha)
        report.hashes["autov1_legacy"] = legacy_hash_file(p)
        model_hash, legacy = sshs_hashes_of_file(p)
        report.hashes["sshs_model_hash_computed"] = model_hash
        report.hashes["sshs_legacy_hash_computed"] = legacy
        stored = metadata.get("sshs_model_hash")
        report.hashes["sshs_matches"] = None if not stored else str(stored == model_hash).lower()
    return report


def describe_parts(report: InspectReport) -> dict[str, str]:
    """Each trained part in words: ``{"unet": "UNet: 120 modules", ...}``."""
    return {part: f"{PREFIXES.get('lora_' + part, part)}: {count} modules" for part, count in report.parts.items()}
