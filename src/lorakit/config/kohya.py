"""sd-scripts interop: the facts both directions share, and the public entry points.

lorakit writes three files for sd-scripts (kohya-ss/sd-scripts):

- ``config.toml``: the flat table of training arguments (``--config_file``).
- ``dataset.toml``: ``[general]`` caption/augmentation defaults, one ``[[datasets]]`` with resolution
  and buckets, and ``[[datasets.subsets]]`` with ``num_repeats`` and ``caption_extension`` written out
  (``--dataset_config``).
- ``lorakit.toml``: settings sd-scripts has no argument for (model family, trigger words, multi-GPU
  launch settings, subset names, and exact values sd-scripts can only approximate; ``unset`` lists
  settings lorakit leaves empty that config.toml had to spell out). It is a separate
  file because sd-scripts flattens every table of ``config.toml`` into arguments (a ``[lorakit]``
  table could shadow a real argument) and its dataset schema rejects unknown keys.

Importing reads them back (``lorakit.toml`` is optional), so export -> import is lossless.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, get_args

from lorakit.config.schema import TrainConfig
from lorakit.config.sections.runtime import Sampler
from lorakit.errors import ConfigError

# sd-scripts' script for each family (written as a comment at the top of config.toml).
SCRIPTS = {
    "sd1": "train_network.py",
    "sd2": "train_network.py",
    "sd2-v": "train_network.py",
    "sdxl": "sdxl_train_network.py",
    "flux": "flux_train_network.py",
    "auto": "train_network.py",
}

# Our optimizer names whose sd-scripts spelling differs.
OPTIMIZER_TO_KOHYA = {"CAME": "pytorch_optimizer.CAME", "Adafactor": "AdaFactor"}
OPTIMIZER_FROM_KOHYA = {v.lower(): k for k, v in OPTIMIZER_TO_KOHYA.items()}

# Our samplers that sd-scripts lacks, exported as its nearest; every other name is one of sd-scripts' own.
SAMPLER_NEAREST = {
    "dpm++_2m": "dpmsolver++",
    "dpm++_2m_karras": "dpmsolver++",
    "dpm++_2m_sde": "dpmsolver++",
    "unipc": "dpmsolver++",
}
# sd-scripts' sample_sampler choices (our Sampler names less the approximated ones).
KOHYA_SAMPLERS = frozenset(get_args(Sampler)) - SAMPLER_NEAREST.keys()

# Schedulers sd-scripts has no name for. cosine_annealing_warm_restarts is torch's class, which sd-scripts
# builds through lr_scheduler_type (without warmup); rex has no faithful sd-scripts equivalent and is refused.
TORCH_SCHEDULERS = {"cosine_annealing_warm_restarts": "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts"}
LORAKIT_SCHEDULERS = frozenset({"rex", "cosine_annealing_warm_restarts"})
# Schedules with a fixed rate: sd-scripts refuses any warmup with them (``constant`` and the ``adafactor`` alias).
CONSTANT_SCHEDULERS = frozenset({"constant", "adafactor"})

# network.type <-> sd-scripts network_module (+ LyCORIS algo / DoRA switch in network_args).
LYCORIS = "lycoris.kohya"
NETWORK_MODULES: dict[str, tuple[str, dict[str, Any]]] = {
    "lora": ("networks.lora", {}),
    "dylora": ("networks.dylora", {}),
    "locon": (LYCORIS, {"algo": "locon"}),
    "loha": (LYCORIS, {"algo": "loha"}),
    "lokr": (LYCORIS, {"algo": "lokr"}),
    "dora": (LYCORIS, {"algo": "lora", "dora_wd": True}),
    "ia3": (LYCORIS, {"algo": "ia3"}),
    "full": (LYCORIS, {"algo": "full"}),
}
# LyCORIS' preset without 3x3 convolutions (its default, "full", trains them at network_dim without conv_dim).
LYCORIS_NO_CONV_PRESET = "attn-mlp"
# sd-scripts' Flux trainer has its own LoRA module (flux_train_network.py refuses networks.lora).
FLUX_LORA_MODULE = "networks.lora_flux"

# Network fields that travel inside network_args (field name -> network_args key).
NETWORK_ARGS = {
    "conv_dim": "conv_dim",
    "conv_alpha": "conv_alpha",
    "rank_dropout": "rank_dropout",
    "module_dropout": "module_dropout",
    "factor": "factor",
    "decompose_both": "decompose_both",
    "full_matrix": "full_matrix",
    "dora_wd": "dora_wd",
    "dylora_unit": "unit",
    "train_norm": "train_norm",
    "use_tucker": "use_tucker",
    "use_scalar": "use_scalar",
    "block_dims": "block_dims",
    "block_alphas": "block_alphas",
    "conv_block_dims": "conv_block_dims",
    "conv_block_alphas": "conv_block_alphas",
    "down_lr_weight": "down_lr_weight",
    "mid_lr_weight": "mid_lr_weight",
    "up_lr_weight": "up_lr_weight",
    "block_lr_zero_threshold": "block_lr_zero_threshold",
    "train_blocks": "train_blocks",  # Flux (networks.lora_flux)
    "train_t5xxl": "train_t5xxl",
}
# LoRA+ ratios (our optimizer section) are network arguments in sd-scripts (networks/lora.py reads them).
LORAPLUS_ARGS = ("loraplus_lr_ratio", "loraplus_unet_lr_ratio", "loraplus_text_encoder_lr_ratio")

# Optimizer fields that travel inside optimizer_args.
OPTIMIZER_ARGS = ("weight_decay", "betas", "eps")

ATTENTION_FLAGS = {"sdpa": "sdpa", "xformers": "xformers", "mem_eff": "mem_eff_attn"}


def sd_scripts_note(path: str) -> str | None:
    """Where a setting goes in sd-scripts' files when that is not simply ``name = value`` in config.toml."""
    section, _, name = path.rpartition(".")
    if path == "model.family":
        return (
            "the script (train_network.py, sdxl_train_network.py, flux_train_network.py) and v2 / v_parameterization"
        )
    if path == "learning.text_encoder_2_lr":
        return "the second value of text_encoder_lr = [first, second]"
    if path == "network.type":
        return "network_module (networks.lora, networks.lora_flux, networks.dylora, lycoris.kohya + algo)"
    if path == "memory.attention":
        return "the switch sdpa, xformers or mem_eff_attn = true"
    if section == "network" and name in NETWORK_ARGS:
        return f'network_args = ["{NETWORK_ARGS[name]}=..."]'
    if section == "optimizer" and name in LORAPLUS_ARGS:
        return f'network_args = ["{name}=..."]'
    if section == "optimizer" and name in OPTIMIZER_ARGS:
        return f'optimizer_args = ["{name}=..."]'
    if section == "captions" or path.startswith("dataset.subsets[]"):
        return "dataset.toml ([general] or a subset)"
    return None


# sd-scripts arguments that only some scripts have (from each script's setup_parser(); every other argument
# lorakit writes exists in all three). sd-scripts silently ignores a config.toml key its parser lacks, so the
# export leaves such keys out of config.toml (and keeps a non-default value in lorakit.toml, with a note).
_SD = "train_network.py"
_SDXL = "sdxl_train_network.py"
_FLUX = "flux_train_network.py"
SCRIPT_ONLY_ARGS: dict[str, frozenset[str]] = {
    "cache_text_encoder_outputs": frozenset({_SDXL, _FLUX}),
    "cache_text_encoder_outputs_to_disk": frozenset({_SDXL, _FLUX}),
    "clip_l": frozenset({_FLUX}),
    "t5xxl": frozenset({_FLUX}),
    "ae": frozenset({_FLUX}),
    "t5xxl_max_token_length": frozenset({_FLUX}),
    "apply_t5_attn_mask": frozenset({_FLUX}),
    "guidance_scale": frozenset({_FLUX}),
    "timestep_sampling": frozenset({_FLUX}),
    "sigmoid_scale": frozenset({_FLUX}),
    "discrete_flow_shift": frozenset({_FLUX}),
    "model_prediction_type": frozenset({_FLUX}),
    "blocks_to_swap": frozenset({_FLUX}),
}


def script_takes(script: str, key: str) -> bool:
    """Whether sd-scripts' ``script`` has the config.toml argument ``key``."""
    return script in SCRIPT_ONLY_ARGS.get(key, frozenset({script}))


# Settings only flux_train_network.py reads (an import for another script never sets them).
FLUX_ONLY = frozenset(
    f"{section}.{name}"
    for section, name in (
        ("model", "clip_l"),
        ("model", "t5xxl"),
        ("model", "ae"),
        ("model", "t5xxl_max_token_length"),
        ("model", "apply_t5_attn_mask"),
        ("model", "guidance_scale"),
        ("model", "timestep_sampling"),
        ("model", "sigmoid_scale"),
        ("model", "discrete_flow_shift"),
        ("model", "model_prediction_type"),
        ("memory", "blocks_to_swap"),
    )
    if SCRIPT_ONLY_ARGS[name] == frozenset({_FLUX})
)

# Where sd-scripts' default differs from ours: an imported file that leaves a key out means these.
KOHYA_DEFAULTS: dict[str, Any] = {
    "memory.mixed_precision": "no",
    "memory.gradient_checkpointing": False,
    "memory.cache_latents": False,
    "memory.max_data_loader_n_workers": 8,
    "memory.attention": "none",
    "optimizer.optimizer_type": "AdamW",
    "learning.learning_rate": 2e-6,
    "network.dim": 4,
    "network.alpha": 1.0,
    "schedule.max_train_epochs": None,
    "schedule.max_train_steps": 1600,
    "schedule.seed": None,  # sd-scripts draws a random seed; so does lorakit for an empty one
    "output.save_precision": None,
    "output.output_name": "last",
    "samples.sample_sampler": "ddim",
    "dataset.enable_bucket": False,
    "captions.caption_extension": ".caption",
    "model.guidance_scale": 3.5,
}

# Written even when they hold the value sd-scripts would assume: the settings a reader looks for first.
ALWAYS_WRITTEN = frozenset(
    {
        "model.pretrained_model_name_or_path",
        "output.output_dir",
        "output.output_name",
        "output.save_model_as",
        "schedule.max_train_epochs",
        "schedule.train_batch_size",
        "schedule.seed",
        "learning.learning_rate",
        "network.dim",
        "network.alpha",
        "memory.mixed_precision",
        "memory.max_data_loader_n_workers",
    }
)


def assumed(path: str, ours: Any) -> Any:
    """What sd-scripts uses when a file leaves ``path`` out: its own default where it differs from ours."""
    return KOHYA_DEFAULTS.get(path, ours)


# Dataset-level settings that sd-scripts keeps in a [[datasets]] table (or config.toml without one).
DATASET_KEYS = (
    "resolution",
    "enable_bucket",
    "min_bucket_reso",
    "max_bucket_reso",
    "bucket_reso_steps",
    "bucket_no_upscale",
)


@dataclass
class KohyaFiles:
    """sd-scripts files as dicts (ready for TOML), plus notes on anything sd-scripts can only approximate."""

    config: dict[str, Any]
    dataset: dict[str, Any] | None
    lorakit: dict[str, Any]
    script: str
    sample_prompts: list[str] | None = None  # inline prompts, written as sample_prompts.txt
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """A config read from sd-scripts files or LoRA metadata, and what could not be carried over."""

    config: TrainConfig
    notes: list[str] = field(default_factory=list)


def format_arg(value: Any) -> str:
    """A value as network_args text: the network module parses it itself (``int(conv_dim)``, lists split at
    commas), so it is written plain: lists comma-joined, booleans True/False."""
    if isinstance(value, (list, tuple)):
        return ",".join(format_arg(v) for v in value)
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def format_literal(value: Any) -> str:
    """A value as optimizer_args / lr_scheduler_args text: sd-scripts reads those with ``ast.literal_eval``
    and no fallback, so text is quoted and a list is a tuple (``betas=0.9,0.99``)."""
    if isinstance(value, (list, tuple)):
        items = [format_literal(v) for v in value]
        return ",".join(items) if len(items) != 1 else f"({items[0]},)"
    if isinstance(value, dict):
        return "{" + ",".join(f"{format_literal(k)}:{format_literal(v)}" for k, v in value.items()) + "}"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return repr(str(value))


def parse_arg_value(text: str) -> Any:
    """sd-scripts reads ``key=value`` arguments with a literal parser; non-literals stay text."""
    text = text.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        lowered = text.lower()
        return {"true": True, "false": False}.get(lowered, text)
    return list(value) if isinstance(value, tuple) else value


def parse_args_list(items: Any, key: str = "network_args") -> dict[str, Any]:
    """``["k=v", ...]`` (or one space-separated string) -> ``{k: v}``."""
    if isinstance(items, str):
        items = items.split()
    if not isinstance(items, list):
        raise ConfigError(
            f"{key} = {items!r} is not a list of key=value texts.",
            f'Write it like {key} = ["conv_dim=8", "conv_alpha=4"].',
            field=key,
        )
    parsed: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = str(item).partition("=")
        parsed[key.strip()] = parse_arg_value(value) if sep else True
    return parsed


def args_list(values: dict[str, Any]) -> list[str]:
    """network_args: ``["key=value", ...]`` as the network module reads them."""
    return [f"{k}={format_arg(v)}" for k, v in values.items()]


def literal_args_list(values: dict[str, Any]) -> list[str]:
    """optimizer_args / lr_scheduler_args: ``["key=<python literal>", ...]``."""
    return [f"{k}={format_literal(v)}" for k, v in values.items()]


def to_kohya(cfg: TrainConfig, *, dataset_config: str = "dataset.toml") -> KohyaFiles:
    """The sd-scripts files for ``cfg`` as dicts (see :mod:`lorakit.config.kohya_export`)."""
    from lorakit.config.kohya_export import build

    return build(cfg, dataset_config=dataset_config)


def export_kohya(cfg: TrainConfig, folder: Any) -> list[Any]:
    """Write config.toml, dataset.toml, lorakit.toml (and sample_prompts.txt) into ``folder``."""
    from lorakit.config.kohya_export import write

    return write(cfg, folder)


def from_kohya(
    config: dict[str, Any],
    dataset: dict[str, Any] | None = None,
    lorakit: dict[str, Any] | None = None,
    script: str | None = None,
) -> ImportResult:
    """A TrainConfig from sd-scripts dicts (see :mod:`lorakit.config.kohya_import`); ``script`` is the
    sd-scripts script they are for (sdxl_train_network.py ...), when known."""
    from lorakit.config.kohya_import import build

    return build(config, dataset, lorakit, script)


def import_kohya(*paths: Any) -> ImportResult:
    """A TrainConfig from sd-scripts TOML files (config.toml, dataset.toml, lorakit.toml, in any order)."""
    from lorakit.config.kohya_import import read

    return read(*paths)


def import_lora_metadata(metadata: dict[str, str]) -> ImportResult:
    """A TrainConfig from a LoRA file's ``ss_*`` metadata, as far as it goes."""
    from lorakit.config.kohya_metadata import build

    return build(metadata)
