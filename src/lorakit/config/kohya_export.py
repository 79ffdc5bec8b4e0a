"""TrainConfig -> sd-scripts ``config.toml`` + ``dataset.toml`` (+ ``lorakit.toml`` for the rest).

Every field of TrainConfig is either written here, marked ``LORAKIT_ONLY`` (and kept in lorakit.toml),
or a secret that is never written; tests/config/test_kohya_coverage.py checks that no field slips by.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import tomli_w

from lorakit.config import kohya as k
from lorakit.config.catalog import SUBSET_PREFIX, FieldSpec, top_fields
from lorakit.config.dataset import AugmentOptions, CaptionOptions
from lorakit.config.kohya_schedule import export_optimizer, export_schedule
from lorakit.config.schema import TrainConfig
from lorakit.errors import ConfigError
from lorakit.fileio import atomic_write_text

# Fields written by a dedicated rule, but under their own sd-scripts name (an import reads them back as usual).
PLAIN_NAMES = frozenset(
    {"learning.lr_warmup_steps", "schedule.max_train_epochs", "model.pretrained_model_name_or_path"}
)
# Fields written by a dedicated rule below instead of the generic "kohya name = value".
HANDLED = PLAIN_NAMES | frozenset(
    {
        "model.family",
        "model.v_parameterization",
        "learning.text_encoder_lr",
        "learning.text_encoder_2_lr",
        "learning.lr_scheduler",
        "learning.lr_scheduler_args",
        "optimizer.optimizer_type",
        "optimizer.optimizer_args",
        "network.type",
        "network.extra_args",
        "memory.attention",
        "samples.sample_prompts",
        "samples.sample_sampler",
        "schedule.train_batch_size",
        "dataset.subsets",
        "dataset.train_data_dir",
        "dataset.reg_data_dir",
    }
    | {f"network.{name}" for name in k.NETWORK_ARGS}
    | {f"optimizer.{name}" for name in k.OPTIMIZER_ARGS}
    | {f"optimizer.{name}" for name in k.LORAPLUS_ARGS}
    | {f"dataset.{name}" for name in k.DATASET_KEYS}
    | {f"dataset.{name}" for name in AugmentOptions.model_fields}
    | {f"captions.{name}" for name in CaptionOptions.model_fields}
)


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _worth_writing(value: Any) -> bool:
    # sd-scripts' switches are all off by default, and empty text/lists mean "not set".
    return value is not None and value is not False and value != "" and value != [] and value != {}


def _should_write(path: str, value: Any, default: Any) -> bool:
    """Write a value unless sd-scripts would assume exactly it when the key is missing (import does the same)."""
    if value is None:
        return False
    return path in k.ALWAYS_WRITTEN or value != k.assumed(path, default)


def _default(spec: FieldSpec) -> Any:
    return spec.default


def _value(cfg: TrainConfig, spec: FieldSpec) -> Any:
    table = getattr(cfg, spec.section) if spec.section else cfg
    return getattr(table, spec.name)


def _dataset_options(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(v) for name, v in values.items() if _worth_writing(v)}


def _section_options(table: Any, section: str, names: Any) -> dict[str, Any]:
    written = {}
    for name in names:
        value = getattr(table, name)
        if _should_write(f"{section}.{name}", value, type(table).model_fields[name].get_default()):
            written[name] = _plain(value)
    return written


def _captions_and_augment(cfg: TrainConfig) -> dict[str, Any]:
    # caption_extension is always written: sd-scripts' default (.caption) is not what taggers write.
    return _section_options(cfg.captions, "captions", CaptionOptions.model_fields) | _section_options(
        cfg.dataset, "dataset", AugmentOptions.model_fields
    )


def _dataset_level(cfg: TrainConfig) -> dict[str, Any]:
    level: dict[str, Any] = {"resolution": _plain(cfg.dataset.resolution)}
    return level | _section_options(cfg.dataset, "dataset", k.DATASET_KEYS[1:])


def _subset(subset: Any) -> dict[str, Any]:
    table: dict[str, Any] = {"image_dir": str(subset.image_dir), "num_repeats": subset.num_repeats}
    if subset.class_tokens is not None:
        table["class_tokens"] = subset.class_tokens
    if subset.is_reg:
        table["is_reg"] = True
    for name in list(CaptionOptions.model_fields) + list(AugmentOptions.model_fields):
        own = getattr(subset, name)
        if own is not None:  # an explicit override is written even when it is "off"
            table[name] = _plain(own)
    return table


def _network(cfg: TrainConfig, out: dict[str, Any], notes: list[str]) -> None:
    net = cfg.network
    module, fixed = k.NETWORK_MODULES[net.type]
    if cfg.model.family == "flux" and module == "networks.dylora":
        raise ConfigError(
            "Cannot export to sd-scripts: networks.dylora has no Flux support (it adapts nothing in"
            " flux_train_network.py).",
            "Use network.type = 'lora' for Flux.",
            field="network.type",
        )
    if cfg.model.family == "flux" and module == "networks.lora":
        module = k.FLUX_LORA_MODULE
    out["network_module"] = module
    args: dict[str, Any] = dict(fixed)
    for name, key in k.NETWORK_ARGS.items():
        value = getattr(net, name)
        if _worth_writing(value):
            args[key] = value
    if net.conv_dim is not None and net.conv_alpha is None:
        # Ours: empty = the same as conv_dim. networks.lora / dylora would use 1.0, LyCORIS network_alpha.
        args["conv_alpha"] = net.conv_dim
    if module == k.LYCORIS and net.conv_dim is None and "preset" not in net.extra_args:
        # LyCORIS trains 3x3 convolutions at network_dim when conv_dim is missing (and reads conv_dim=0 the same
        # way); its attn-mlp preset keeps them off, as an empty conv_dim means for us.
        args["preset"] = k.LYCORIS_NO_CONV_PRESET
        notes.append(f"conv_dim is empty: preset={k.LYCORIS_NO_CONV_PRESET} keeps LyCORIS off the convolutions.")
    for name in k.LORAPLUS_ARGS:
        value = getattr(cfg.optimizer, name)
        if value is not None:
            args[name] = value
    args |= net.extra_args
    if args:
        out["network_args"] = k.args_list(args)


def _family(cfg: TrainConfig, notes: list[str]) -> str:
    """The family the export is written for: an 'auto' family is read from a local model's header."""
    family = cfg.model.family
    if family != "auto":
        return family
    from lorakit.config.validate import detected_family

    found = detected_family(cfg)
    if found is None:
        notes.append(
            "model.family is 'auto' and the model could not be read here: config.toml is written for"
            " train_network.py (SD1/SD2). Set model.family for SDXL or Flux."
        )
        return "auto"
    notes.append(f"model.family 'auto': the model is {found}, so the export is for {k.SCRIPTS[found]}.")
    return found


def _model_path(cfg: TrainConfig, out: dict[str, Any], keep: Any, notes: list[str]) -> None:
    source = cfg.model.pretrained_model_name_or_path
    if source is not None and str(source).startswith("tiny:"):
        keep("model", "pretrained_model_name_or_path", str(source))
        notes.append(
            f"{source} is lorakit's built-in test model, which sd-scripts cannot load: config.toml has no"
            " pretrained_model_name_or_path; add a real checkpoint there before running sd-scripts."
        )
    elif source is not None:
        out["pretrained_model_name_or_path"] = _plain(source)


def build(cfg: TrainConfig, *, dataset_config: str = "dataset.toml") -> k.KohyaFiles:
    """The three sd-scripts files as dicts; see :mod:`lorakit.config.kohya`."""
    family = cfg.model.family
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {"config_version": cfg.config_version}
    notes: list[str] = []

    def keep(section: str, name: str, value: Any) -> None:
        extra.setdefault(section, {})[name] = _plain(value)

    script = k.SCRIPTS[_family(cfg, notes)]
    for spec in top_fields():
        if spec.path in HANDLED or spec.path == "config_version" or spec.secret:
            continue
        value = _value(cfg, spec)
        if spec.lorakit_only:
            if value != _default(spec):
                keep(spec.section, spec.name, value)
            continue
        key = spec.kohya or spec.name
        if not k.script_takes(script, key):
            if value != _default(spec):  # sd-scripts would ignore it: lorakit.toml keeps it, and we say so
                keep(spec.section, spec.name, value)
                notes.append(f"{script} has no {key} argument: {spec.path} is kept in lorakit.toml only.")
            continue
        if _should_write(spec.path, value, _default(spec)):
            out[key] = _plain(value)

    _model_path(cfg, out, keep, notes)
    # Model family: sd-scripts knows it from the script and the v2 / v_parameterization switches.
    if family != "auto":
        keep("model", "family", family)
    if family in ("sd2", "sd2-v"):
        out["v2"] = True
    if cfg.model.v_parameterization or (cfg.model.v_parameterization is None and family == "sd2-v"):
        out["v_parameterization"] = True
    if cfg.model.v_parameterization is not None:
        keep("model", "v_parameterization", cfg.model.v_parameterization)

    # Epochs win in sd-scripts as in lorakit; with neither set lorakit trains DEFAULT_EPOCHS, spelled out here
    # (sd-scripts would train 1600 steps) and listed as unset in lorakit.toml.
    epochs = cfg.schedule.planned_epochs()
    if epochs is not None:
        out["max_train_epochs"] = epochs
        if cfg.schedule.max_train_epochs is None:
            extra.setdefault("unset", []).append("schedule.max_train_epochs")

    learning = cfg.learning
    if learning.text_encoder_2_lr is not None:
        te1 = learning.text_encoder_lr if learning.text_encoder_lr is not None else learning.learning_rate
        out["text_encoder_lr"] = [te1, learning.text_encoder_2_lr]
        keep("learning", "text_encoder_2_lr", learning.text_encoder_2_lr)
        if learning.text_encoder_lr is None:  # "same as learning_rate", which config.toml had to spell out
            extra.setdefault("unset", []).append("learning.text_encoder_lr")
    elif learning.text_encoder_lr is not None:
        out["text_encoder_lr"] = learning.text_encoder_lr
    export_schedule(cfg, out, keep, notes)
    export_optimizer(cfg, out, keep)
    _network(cfg, out, notes)
    if cfg.memory.attention in k.ATTENTION_FLAGS:  # "none": no switch, sd-scripts' plain attention
        out[k.ATTENTION_FLAGS[cfg.memory.attention]] = True

    samples = cfg.samples
    sampler = samples.sample_sampler
    if sampler not in k.KOHYA_SAMPLERS:
        keep("samples", "sample_sampler", sampler)
        notes.append(f"sd-scripts has no {sampler!r} sampler; config.toml uses {k.SAMPLER_NEAREST[sampler]!r}.")
    if sampler != k.KOHYA_DEFAULTS["samples.sample_sampler"]:
        out["sample_sampler"] = k.SAMPLER_NEAREST.get(sampler, sampler)
    inline_prompts = None
    if isinstance(samples.sample_prompts, list):
        inline_prompts = samples.sample_prompts
        keep("samples", "sample_prompts", inline_prompts)
    elif samples.sample_prompts is not None:
        out["sample_prompts"] = str(samples.sample_prompts)

    out["train_batch_size"] = cfg.schedule.train_batch_size
    dataset_toml = _dataset(cfg, out, extra, dataset_config)
    return k.KohyaFiles(_ordered(out), dataset_toml, extra, script, inline_prompts, notes)


# Keys written by the dedicated rules, placed next to the field they come from.
_PLACED_AFTER = {
    "v2": "model.pretrained_model_name_or_path",
    "v_parameterization": "model.pretrained_model_name_or_path",
    "dataset_config": "dataset.subsets",
    "train_data_dir": "dataset.subsets",
    "reg_data_dir": "dataset.subsets",
    "text_encoder_lr": "learning.unet_lr",
    "lr_scheduler": "learning.text_encoder_2_lr",
    "lr_scheduler_type": "learning.text_encoder_2_lr",
    "lr_scheduler_args": "learning.lr_scheduler_min_lr_ratio",
    "lr_warmup_steps": "learning.lr_scheduler",
    "max_train_epochs": "schedule.max_train_steps",
    "pretrained_model_name_or_path": "model.family",
    "optimizer_type": "optimizer.optimizer_type",
    "optimizer_args": "optimizer.optimizer_args",
    "network_module": "network.type",
    "network_args": "network.alpha",
    "sdpa": "memory.attention",
    "xformers": "memory.attention",
    "mem_eff_attn": "memory.attention",
    "sample_prompts": "samples.sample_prompts",
    "sample_sampler": "samples.sample_sampler",
    "train_batch_size": "schedule.train_batch_size",
    "alpha_mask": "dataset.masked_loss",
}


@lru_cache(maxsize=1)
def _positions() -> dict[str, float]:
    specs = top_fields()
    position: dict[str, float] = {spec.kohya: i for i, spec in reversed(list(enumerate(specs))) if spec.kohya}
    by_path = {spec.path: i for i, spec in enumerate(specs)}
    return position | {key: by_path[path] + 0.5 for key, path in _PLACED_AFTER.items()}


def _ordered(out: dict[str, Any]) -> dict[str, Any]:
    """config.toml keys in the order of the sections (model, output, dataset, ...), for people reading it."""
    position = _positions()
    return dict(sorted(out.items(), key=lambda item: position.get(item[0], len(position))))


def _dataset(cfg: TrainConfig, out: dict[str, Any], extra: dict[str, Any], dataset_config: str) -> dict | None:
    ds = cfg.dataset
    if not ds.subsets and ds.train_data_dir is not None:
        # sd-scripts' folder mode: everything is an argument and '<repeats>_<name>' folders give repeats.
        out["train_data_dir"] = str(ds.train_data_dir)
        if ds.reg_data_dir is not None:
            out["reg_data_dir"] = str(ds.reg_data_dir)
        level = _dataset_level(cfg)
        level["resolution"] = ",".join(str(side) for side in ds.resolution_wh)
        options = _captions_and_augment(cfg)
        if "face_crop_aug_range" in options:  # the argument is "2.0,4.0" text (the dataset TOML takes a list)
            options["face_crop_aug_range"] = ",".join(str(float(v)) for v in options["face_crop_aug_range"])
        out.update(level | options)
        return None
    names = [s.name for s in ds.subsets]
    if any(n is not None for n in names):
        extra["subset_names"] = [n or "" for n in names]
    general = _captions_and_augment(cfg)
    if "alpha_mask" in general:  # sd-scripts' dataset schema allows it only per subset; the argument is the fallback
        out["alpha_mask"] = general.pop("alpha_mask")
    dataset = {
        "general": general,
        "datasets": [
            _dataset_level(cfg)
            | {"batch_size": cfg.schedule.train_batch_size, "subsets": [_subset(s) for s in ds.subsets]}
        ],
    }
    out["dataset_config"] = dataset_config
    return dataset


def _toml(data: dict[str, Any], header: str = "") -> str:
    return header + tomli_w.dumps(data)


def write(cfg: TrainConfig, folder: str | os.PathLike) -> list[Path]:
    """Write the sd-scripts files for ``cfg`` into ``folder``; returns the paths written."""
    # Absolute paths: sd-scripts resolves dataset_config from where it runs, not from config.toml's folder.
    target = Path(folder).expanduser().resolve()
    target.mkdir(parents=True, exist_ok=True)
    files = build(cfg, dataset_config=str(target / "dataset.toml"))
    if files.sample_prompts is not None:
        prompts = target / "sample_prompts.txt"
        atomic_write_text(prompts, "\n".join(files.sample_prompts) + "\n")
        files.config["sample_prompts"] = str(prompts)
    header = (
        f"# sd-scripts training config written by lorakit.\n"
        f"# Run: accelerate launch {files.script} --config_file {target / 'config.toml'}\n\n"
    )
    written = [target / "config.toml"]
    atomic_write_text(written[0], _toml(files.config, header))
    if files.dataset is not None:
        written.append(target / "dataset.toml")
        atomic_write_text(written[1], _toml(files.dataset, "# sd-scripts dataset config written by lorakit.\n\n"))
    lorakit_path = target / "lorakit.toml"
    atomic_write_text(
        lorakit_path,
        _toml(files.lorakit, "# lorakit settings sd-scripts has no argument for; sd-scripts ignores this file.\n\n"),
    )
    written.append(lorakit_path)
    if files.sample_prompts is not None:
        written.append(target / "sample_prompts.txt")
    return written


__all__ = ["HANDLED", "PLAIN_NAMES", "SUBSET_PREFIX", "build", "write"]
