"""Everything a run needs before its first step, built from a ``TrainConfig``.

Kept apart from the loop so the loop reads top to bottom: here the model is loaded, the network
injected, the optimizer and learning-rate schedule built, the data fed through caches, and the memory
checked before anything heavy starts.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lorakit.errors import ModelError
from lorakit.lora.network import LoraNetwork, NetworkSettings, build_network
from lorakit.train.step import StepOptions

log = logging.getLogger(__name__)


def resolve_model_source(source: str | None, cache_root: Path) -> tuple[Path, str | None]:
    """A model path, or ``tiny:sd1`` / ``tiny:sdxl`` (the built-in tiny models, built on first use)."""
    if not source:
        raise ModelError(
            "No base model is set.",
            "Set model.pretrained_model_name_or_path to a diffusers folder or a .safetensors checkpoint.",
            field="pretrained_model_name_or_path",
        )
    if source.startswith("tiny:"):
        from lorakit.models.tiny import build_tiny_model

        family = source.split(":", 1)[1] or "sd1"
        return build_tiny_model(family, cache_root / f"tiny-{family}"), family
    return Path(source).expanduser(), None


def tiny_cache_root() -> Path:
    """Where the tiny models are kept: ``<workspace>/models/checkpoints`` (see lorakit.workspace)."""
    try:
        from lorakit.workspace import Workspace

        return Workspace().model_folder("checkpoints")
    except Exception:  # no workspace yet (e.g. a bare library call): a per-user cache folder
        return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lorakit" / "models"


def model_hash(source: str | None) -> str | None:
    """``ss_sd_model_hash`` as sd-scripts writes it: A1111's legacy hash of a single-file model (cheap: 64 KiB)."""
    if not source or source.startswith("tiny:"):
        return None
    path = Path(source).expanduser()
    if not path.is_file():
        return None  # a diffusers folder has no single-file hash
    from lorakit.models.hashes import legacy_hash_file

    return legacy_hash_file(path)


def network_settings(cfg, sdxl: bool = False) -> NetworkSettings:
    """The network to build; ``sdxl`` picks sd-scripts' SDXL block layout for the block-wise settings."""
    return NetworkSettings.from_config(cfg, sdxl=sdxl)


def _text_encoder_lr(cfg) -> float:
    lr = cfg.learning.text_encoder_lr
    return cfg.learning.learning_rate if lr is None else lr


# StepOptions fields read from the config by the same name, in these sections; an empty value becomes the
# neutral one (clip skip 1 = the encoder's output; no offset / multires / input perturbation).
STEP_SECTIONS = ("model", "captions", "dataset", "noise")
_STEP_NEUTRAL = {"clip_skip": 1, "noise_offset": 0.0, "multires_noise_iterations": 0, "ip_noise_gamma": 0.0}


def step_options(cfg, family, settings: NetworkSettings) -> StepOptions:
    """The step's settings, built from the config sections by field name (so a name cannot drift)."""
    from dataclasses import fields

    values: dict[str, Any] = {"train_text_encoder": settings.train_text_encoder}
    for f in fields(StepOptions):
        for section in STEP_SECTIONS:
            part = getattr(cfg, section)
            if f.name in type(part).model_fields:
                value = getattr(part, f.name)
                values[f.name] = _STEP_NEUTRAL.get(f.name) if value is None and f.name in _STEP_NEUTRAL else value
                break
    values["loss_type"], values["huber_schedule"] = str(values["loss_type"]), str(values["huber_schedule"])
    values["timestep_sampling"] = str(values["timestep_sampling"])
    values["model_prediction_type"] = str(values["model_prediction_type"])
    values["max_token_length"] = int(values["max_token_length"])
    return StepOptions(**values)


def build_model_and_network(cfg, device: torch.device) -> tuple[Any, LoraNetwork]:
    """Load the base model (frozen weights in the mixed-precision dtype) and inject the network (fp32).

    The number formats are :func:`lorakit.train.precision.precision_for`'s, on a GPU and a CPU alike."""
    from lorakit.models.loading import load_model
    from lorakit.train.precision import check_precision, precision_for, store_fp8

    source, tiny_family = resolve_model_source(cfg.model.pretrained_model_name_or_path, tiny_cache_root())
    family_name = None if str(cfg.model.family) in ("auto", "None") else str(cfg.model.family)
    mem = cfg.memory
    check_precision(cfg, device)  # fp8 on a machine without fp8 support is refused before loading
    precision = precision_for(cfg)
    v_prediction = cfg.model.v_parameterization
    if family_name == "sd2-v" and v_prediction is None:
        v_prediction = True  # "sd2-v" names the 768-v models, whose files often carry no scheduler config
    family = load_model(
        source,
        family=tiny_family or family_name,
        vae=cfg.model.vae,
        config=cfg.model.architecture_config,
        dtype=precision.base,
        device=device,
        v_prediction=v_prediction,
    )
    if family.name == "flux":  # T5 length/mask, guidance, block selection (models/families/flux.py)
        family.configure(cfg.model, str(cfg.network.train_blocks), bool(cfg.network.train_t5xxl))
    family.components.vae.to(precision.vae)  # fp32 with no_half_vae
    if cfg.noise.zero_terminal_snr:
        from lorakit.train.noise import apply_zero_terminal_snr

        apply_zero_terminal_snr(family.components.noise_scheduler)
    if cfg.network.base_weights:
        from lorakit.lora.base_weights import merge_base_weights

        # Merged before the network is injected, into every component (the text encoders too), as sd-scripts.
        merge_base_weights(
            family.trainable_parts(),
            family.lora_targets(True, True),
            list(cfg.network.base_weights),
            list(cfg.network.base_weights_multiplier or []),
        )
    settings = network_settings(cfg, sdxl=family.name == "sdxl")
    if family.name == "flux" and settings.kind not in ("lora", "locon"):  # the family was found from the files
        from lorakit.config.errors import ConfigError
        from lorakit.config.refused import FLUX_LYCORIS, FLUX_LYCORIS_FIX

        what = "DoRA" if settings.kind == "dora" else settings.kind
        raise ConfigError(FLUX_LYCORIS.format(what=what) + ".", FLUX_LYCORIS_FIX, field="network.type")
    specs = family.lora_targets(settings.train_unet, settings.train_text_encoder)
    network = build_network(family.trainable_parts(), specs, settings)
    for param in network.parameters():
        # LoRA weights stay fp32 (stable updates) unless the user asked for full bf16/fp16 training.
        param.data = param.data.to(precision.lora)
    if precision.fp8_base:  # after the network is built, so the LoRA's own weights never pass through fp8
        store_fp8(family.components.unet)
    if cfg.network.network_weights:
        from lorakit.lora.kohya import load_lora_file

        lora = load_lora_file(cfg.network.network_weights)
        tensors = family.network_tensors(lora.tensors) if hasattr(family, "network_tensors") else lora.tensors
        network.load_kohya_state_dict(tensors, source=str(cfg.network.network_weights))
    if mem.gradient_checkpointing:
        family.components.unet.enable_gradient_checkpointing()
    if mem.blocks_to_swap:  # Flux: transformer blocks kept in CPU memory between uses (train/block_swap.py)
        from lorakit.train.block_swap import enable_block_swap

        notes = family.__dict__.setdefault("notes", [])  # warnings the run emits once set up (run.py)
        enable_block_swap(family.components.unet, int(mem.blocks_to_swap), device, notes.append)
    from lorakit.train.speed import apply_speed_settings

    apply_speed_settings(cfg, family)  # attention implementation, channels-last, torch.compile
    return family, network


def build_optimizer_and_schedule(cfg, network: LoraNetwork, total_steps: int, warmup_steps: int, processes: int = 1):
    """The optimizer with one group per component (own learning rates, LoRA+ split) and its LR schedule.

    The schedule runs over ``total_steps`` scheduler steps, ``processes`` of them per optimizer step (as
    sd-scripts' does through accelerate); ``warmup_steps`` is in those units already (see the plan).
    """
    from lorakit.train.optimizers import build_optimizer, loraplus_groups

    lr = cfg.learning
    rates = {
        "unet": lr.unet_lr if lr.unet_lr is not None else lr.learning_rate,
        "te": _text_encoder_lr(cfg),
        "te1": _text_encoder_lr(cfg),
        "te2": lr.text_encoder_2_lr if lr.text_encoder_2_lr is not None else _text_encoder_lr(cfg),
    }
    opt = cfg.optimizer
    groups = []
    for name in network.components:
        ratio = opt.loraplus_unet_lr_ratio if name == "unet" else opt.loraplus_text_encoder_lr_ratio
        # One group per block learning-rate weight (down/mid/up_lr_weight); a single group without them.
        for weight, named in sorted(network.named_parameters_by_lr_weight(name).items(), reverse=True):
            label = name if weight == 1.0 else f"{name}_x{weight:g}"
            groups += loraplus_groups(named, rates[name] * weight, ratio or opt.loraplus_lr_ratio, name=label)
    optimizer = build_optimizer(
        str(opt.optimizer_type),
        groups,
        lr.learning_rate,
        weight_decay=opt.weight_decay,  # None: the optimizer's own default (AdamW 0.01), as sd-scripts
        betas=tuple(opt.betas) if opt.betas else None,
        eps=opt.eps,
        args=opt.optimizer_args,
    )
    return optimizer, build_lr_schedule(cfg, optimizer, total_steps, warmup_steps, processes)


@dataclass
class MemoryEstimate:
    needed_mb: float
    available_mb: float | None

    @property
    def fits(self) -> bool:
        return self.available_mb is None or self.needed_mb <= self.available_mb


def estimate_memory(family, network: LoraNetwork, batch_size: int, resolution: int, device: torch.device):
    """A rough pre-flight: frozen weights + trainable state (Adam: ×4) + activations (scaled from SD1.5).

    The activation term is calibrated on SD1.5 at 512² (about 2.5 GB per image without gradient
    checkpointing, fp16); it scales with pixels and with the UNet's parameter count.
    """
    c = family.components
    frozen = sum(p.numel() * p.element_size() for m in (c.unet, c.vae, *c.text_encoders) for p in m.parameters())
    trainable = sum(p.numel() * 4 * 4 for p in network.parameters())
    unet_params = sum(p.numel() for p in c.unet.parameters())
    checkpointing = getattr(c.unet, "is_gradient_checkpointing", False)
    per_image = 2.5e9 * (resolution / 512) ** 2 * (unet_params / 860e6) * (0.3 if checkpointing else 1.0)
    needed = (frozen + trainable + per_image * batch_size) / 2**20
    available = None
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        available = free / 2**20
    else:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (ValueError, OSError, AttributeError):
            available = None
    return MemoryEstimate(needed, available)


def build_lr_schedule(cfg, optimizer, total_steps: int, warmup_steps: int, processes: int = 1):
    """The config's LR schedule for ``optimizer`` over ``total_steps`` scheduler steps (optimizer steps ×
    ``processes``; the trainer steps it ``processes`` times per optimizer step, as sd-scripts does)."""
    from lorakit.train.schedulers import build_scheduler, lr_curve_name

    lr = cfg.learning
    args = lr.lr_scheduler_args
    if processes > 1 and lr_curve_name(str(lr.lr_scheduler)) == "cosine_annealing_warm_restarts" and "T_0" in args:
        # T_0 counts optimizer steps (the sd-scripts export writes it × processes too: config/kohya_schedule.py).
        args = {**args, "T_0": int(args["T_0"]) * processes}
    return build_scheduler(
        str(lr.lr_scheduler),
        optimizer,
        total_steps,
        warmup_steps=warmup_steps,
        num_cycles=lr.lr_scheduler_num_cycles,
        power=lr.lr_scheduler_power,
        min_lr_ratio=lr.lr_scheduler_min_lr_ratio or 0.0,
        args=args,
        decay_steps=lr.lr_decay_steps,
        rex_d=lr.rex_d,
        rex_gamma=lr.rex_gamma,
    )
