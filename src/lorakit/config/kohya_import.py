"""sd-scripts ``config.toml`` + ``dataset.toml`` (+ lorakit's ``lorakit.toml``) -> TrainConfig.

Keys a file leaves out mean sd-scripts' defaults (``KOHYA_DEFAULTS``), not lorakit's, so an imported
config trains like the original. Keys lorakit does not use are reported in the notes, never dropped
silently.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from lorakit.config import kohya as k
from lorakit.config.catalog import top_fields
from lorakit.config.dataset import AugmentOptions, CaptionOptions
from lorakit.config.io import config_from_dict, read_toml
from lorakit.config.kohya_export import HANDLED, PLAIN_NAMES
from lorakit.config.kohya_schedule import import_optimizer_args
from lorakit.config.presets import deep_merge
from lorakit.errors import ConfigError

_SUBSET_OPTIONS = tuple(CaptionOptions.model_fields) + tuple(AugmentOptions.model_fields)
_SECTION_OF_OPTION = {name: "captions" for name in CaptionOptions.model_fields} | {
    name: "dataset" for name in AugmentOptions.model_fields
}
# sd-scripts arguments that only steer sd-scripts itself (files, consoles); lorakit has its own ways.
_NOT_SETTINGS = frozenset(
    {
        "dataset_config",
        "config_file",
        "output_config",
        "console_log_level",
        "console_log_file",
        "console_log_simple",
        "log_config",
        "wandb_api_key",
        "huggingface_token",
    }
)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{where} = {value!r} should be a table.", f"Write [{where}] with settings under it.", field=where
        )
    return value


def _tables(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(
            f"{where} should be a list of tables.",
            f"Write each one as [[{where}]] with its settings under it.",
            field=where,
        )
    return value


def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """sd-scripts reads every ``[table]`` of config.toml as top-level arguments; so do we."""
    args = {key: value for key, value in config.items() if not isinstance(value, dict)}
    for value in config.values():
        if isinstance(value, dict):
            args |= value
    return args


def _generic_index() -> dict[str, str]:
    """sd-scripts name -> our dotted path, for the fields written by the generic rule."""
    index: dict[str, str] = {}
    for spec in top_fields():
        if spec.kohya and (spec.path not in HANDLED or spec.path in PLAIN_NAMES) and not spec.lorakit_only:
            index.setdefault(spec.kohya, spec.path)
    return index


def _put(tree: dict[str, Any], path: str, value: Any) -> None:
    section, name = path.split(".")
    tree.setdefault(section, {})[name] = value


def _network(args: dict[str, Any], tree: dict[str, Any], notes: list[str]) -> None:
    module = args.pop("network_module", "networks.lora")
    if module == k.FLUX_LORA_MODULE:  # the family was read from it already
        module = "networks.lora"
    net_args = k.parse_args_list(args.pop("network_args", []), "network_args")
    algo = str(net_args.pop("algo", "lora")).lower() if module == k.LYCORIS else None
    dora = bool(net_args.pop("dora_wd", False)) if module == k.LYCORIS else False
    found = None
    for kind, (mod, fixed) in k.NETWORK_MODULES.items():
        if mod == module and fixed.get("algo") == algo and bool(fixed.get("dora_wd", False)) == dora:
            found = kind
    if found is None and dora:  # DoRA on LoHa / LoKr / LoCon: the type plus our dora_wd switch
        found = next(
            (kind for kind, (mod, fixed) in k.NETWORK_MODULES.items() if mod == module and fixed == {"algo": algo}),
            None,
        )
        if found is not None:
            _put(tree, "network.dora_wd", True)
    if found is None and module == k.LYCORIS and algo == "lora":
        found = "locon"  # LyCORIS' plain "lora" algo also adapts convolutions: our LoCon
    if found is None:
        raise ConfigError(
            f"network_module = {module!r}" + (f" with algo {algo!r}" if algo else "") + " is not one lorakit trains.",
            "Use networks.lora, networks.dylora or lycoris.kohya with algo locon/loha/lokr/ia3/full (or dora_wd).",
            field="network.type",
        )
    _put(tree, "network.type", found)
    _conv(module, net_args, args, tree)
    by_key = {key: name for name, key in k.NETWORK_ARGS.items()}
    extra = {}
    for key, value in net_args.items():
        if key in by_key:
            _put(tree, f"network.{by_key[key]}", value)
        elif key in k.LORAPLUS_ARGS:
            _put(tree, f"optimizer.{key}", value)
        else:
            extra[key] = value
    if extra:
        _put(tree, "network.extra_args", extra)
        notes.append(f"network_args kept as they are: {', '.join(extra)}")


def _conv(module: str, net_args: dict[str, Any], args: dict[str, Any], tree: dict[str, Any]) -> None:
    """What the network module does with conv_dim / conv_alpha, in lorakit's terms (empty conv_dim = off,
    empty conv_alpha = the same as conv_dim)."""
    dim = args.get("network_dim", k.KOHYA_DEFAULTS["network.dim"])
    alpha = args.get("network_alpha", k.KOHYA_DEFAULTS["network.alpha"])
    if module == k.LYCORIS:
        preset = net_args.get("preset", "full")
        if preset == k.LYCORIS_NO_CONV_PRESET and "conv_dim" not in net_args:
            net_args.pop("preset")  # the export's way of saying "conv_dim empty"
        elif preset == "full" and not net_args.get("conv_dim"):
            net_args["conv_dim"] = dim  # LyCORIS trains 3x3 convolutions at network_dim then
        if "conv_dim" in net_args and not net_args.get("conv_alpha"):
            net_args["conv_alpha"] = alpha  # LyCORIS' fallback
    elif "conv_dim" in net_args and "conv_alpha" not in net_args:
        net_args["conv_alpha"] = 1.0  # networks.lora / dylora / lora_flux
    if "conv_dim" in net_args and net_args.get("conv_alpha") == net_args["conv_dim"]:
        net_args.pop("conv_alpha")  # ours: empty = the same as conv_dim


def _optimizer(args: dict[str, Any], tree: dict[str, Any]) -> None:
    name = str(args.pop("optimizer_type", "") or "")
    if args.pop("use_8bit_adam", False):
        name = name or "AdamW8bit"
    if args.pop("use_lion_optimizer", False):
        name = name or "Lion"
    if name:
        _put(tree, "optimizer.optimizer_type", k.OPTIMIZER_FROM_KOHYA.get(name.lower(), name))
    opt_args = k.parse_args_list(args.pop("optimizer_args", []), "optimizer_args")
    opt_args = import_optimizer_args(k.OPTIMIZER_FROM_KOHYA.get(name.lower(), name), opt_args)
    for field_name in k.OPTIMIZER_ARGS:
        if field_name in opt_args:
            _put(tree, f"optimizer.{field_name}", opt_args.pop(field_name))
    if opt_args:
        _put(tree, "optimizer.optimizer_args", opt_args)


def _dataset_from_toml(
    dataset: dict[str, Any], fallback: dict[str, Any], tree: dict[str, Any], notes: list[str]
) -> None:
    # sd-scripts looks a dataset option up in the subset, its [[datasets]], [general], and last in the
    # training arguments (config.toml): those are the bottom layer here too.
    general = fallback | _table(dataset.get("general", {}), "general")
    datasets = _tables(dataset.get("datasets", []), "datasets")
    if not datasets:
        raise ConfigError(
            "The dataset TOML has no [[datasets]] table.",
            "Add [[datasets]] with at least one [[datasets.subsets]] that has an image_dir.",
            field="dataset.subsets",
        )
    if len(datasets) > 1:
        notes.append(
            f"The dataset TOML has {len(datasets)} [[datasets]]; lorakit trains one resolution and bucket setup,"
            " so the first one's resolution and buckets are used for all subsets."
        )
    first = {key: value for key, value in datasets[0].items() if key != "subsets"}
    level = general | first
    for key in k.DATASET_KEYS:
        if key in level:
            _put(tree, f"dataset.{key}", level[key])
    if "batch_size" in level:
        _put(tree, "schedule.train_batch_size", level["batch_size"])
    for name in _SUBSET_OPTIONS:
        if name in general:
            _put(tree, f"{_SECTION_OF_OPTION[name]}.{name}", general[name])
    subsets = []
    for table in datasets:
        own = {key: value for key, value in table.items() if key not in ("subsets",)}
        for raw in _tables(table.get("subsets", []), "datasets.subsets"):
            subset = dict(raw)
            for name in _SUBSET_OPTIONS:
                # A [[datasets]] value that differs from [general] applies to its subsets.
                if name not in subset and name in own and own[name] != general.get(name):
                    subset[name] = own[name]
            if subset.get("class_tokens") == "":
                subset.pop("class_tokens")
            for key in ("cache_info", "custom_attributes", "caption_separator", "metadata_file"):
                if key in subset:
                    notes.append(f"Subset option {key!r} is not used by lorakit and was left out.")
                    subset.pop(key)
            subsets.append(subset)
    tree.setdefault("dataset", {})["subsets"] = subsets
    unknown = set(level) - set(k.DATASET_KEYS) - set(_SUBSET_OPTIONS) - {"batch_size"}
    if unknown:
        notes.append(f"Dataset settings not used by lorakit: {', '.join(sorted(unknown))}")


_FAMILY_OF_SCRIPT = {"sdxl_train_network.py": "sdxl", "flux_train_network.py": "flux"}


def _family(args: dict[str, Any], v2: bool, vpred: Any, script: str | None, notes: list[str]) -> str:
    """The model family from what sd-scripts reads: the script (lorakit's header names it), the v2 switch,
    arguments only one script has, and last the base model's own header when the file is here."""
    if v2:
        return "sd2-v" if vpred else "sd2"
    if script in _FAMILY_OF_SCRIPT:
        return _FAMILY_OF_SCRIPT[script]
    if any(key in args for key in ("ae", "t5xxl", "clip_l")) or args.get("network_module") == k.FLUX_LORA_MODULE:
        return "flux"
    if script == "train_network.py":
        return "auto"  # SD1 or SD2 without v2 (an SD1 checkpoint is told apart when it loads)
    two_rates = isinstance(args.get("text_encoder_lr"), list) and len(args["text_encoder_lr"]) > 1
    if two_rates or any(
        key in args
        for key in k.SCRIPT_ONLY_ARGS
        if k.SCRIPT_ONLY_ARGS[key] == {"sdxl_train_network.py", "flux_train_network.py"}
    ):
        return "sdxl"  # two text encoders, or text-encoder caching: SDXL's script (Flux was ruled out above)
    source = args.get("pretrained_model_name_or_path")
    if isinstance(source, str) and source:
        from lorakit.config.schema import TrainConfig
        from lorakit.config.validate import detected_family

        found = detected_family(TrainConfig.model_validate({"model": {"pretrained_model_name_or_path": source}}))
        if found is not None:
            return found
    notes.append(
        "The files do not say which sd-scripts script they are for: model.family is 'auto' (told from the model"
        " when it loads). Set model.family to export for sdxl_train_network.py or flux_train_network.py."
    )
    return "auto"


def build(
    config: dict[str, Any],
    dataset: dict[str, Any] | None,
    lorakit: dict[str, Any] | None,
    script: str | None = None,
) -> k.ImportResult:
    """A TrainConfig from sd-scripts dicts; see the module docstring."""
    notes: list[str] = []
    args = flatten(config)
    tree: dict[str, Any] = {}
    v2, vpred = bool(args.pop("v2", False)), args.pop("v_parameterization", None)
    family = _family(args, v2, vpred, script, notes)
    family = _table((lorakit or {}).get("model", {}), "model").get("family", family)
    script_name = k.SCRIPTS.get(str(family), k.SCRIPTS["auto"])
    ignored = sorted(key for key in args if not k.script_takes(script_name, key))
    for key in ignored:  # sd-scripts' parser for this script has no such argument: it never took effect
        args.pop(key)
    if ignored:
        notes.append(f"{script_name} has no {', '.join(ignored)} argument (sd-scripts ignored it): not imported.")
    for path, value in k.KOHYA_DEFAULTS.items():
        if path not in k.FLUX_ONLY or family == "flux":  # other scripts have no Flux arguments at all
            _put(tree, path, value)
    if "max_train_epochs" in args and "max_train_steps" not in args:
        _put(tree, "schedule.max_train_steps", None)  # epochs given: the 1600-step default never applies

    _put(tree, "model.family", family)
    if vpred and family != "sd2-v":
        _put(tree, "model.v_parameterization", True)

    te_lr = args.pop("text_encoder_lr", None)
    if isinstance(te_lr, list):
        te_lr, te2 = [*te_lr, None, None][:2]
        if te2 is not None and te2 != te_lr:
            _put(tree, "learning.text_encoder_2_lr", te2)
    if te_lr is not None:
        _put(tree, "learning.text_encoder_lr", te_lr)
    scheduler_args = k.parse_args_list(args.pop("lr_scheduler_args", []), "lr_scheduler_args")
    if args.get("lr_scheduler") == "polynomial":
        # transformers' polynomial ends at lr_end (1e-7 unless given), relative to learning_rate: our floor
        lr_end = scheduler_args.pop("lr_end", 1e-7)
        rate = args.get("learning_rate", k.KOHYA_DEFAULTS["learning.learning_rate"])
        if isinstance(lr_end, (int, float)) and isinstance(rate, (int, float)) and lr_end and rate > 0:
            _put(tree, "learning.lr_scheduler_min_lr_ratio", min(1.0, lr_end / rate))
            args.pop("lr_scheduler_min_lr_ratio", None)
    if args.get("lr_scheduler") == "warmup_stable_decay":  # lorakit's trainer reads the decay from here
        scheduler_args.setdefault("decay_steps", args.get("lr_decay_steps", 0))
    if scheduler_args:
        _put(tree, "learning.lr_scheduler_args", scheduler_args)
    if "lr_scheduler" in args:
        _put(tree, "learning.lr_scheduler", args.pop("lr_scheduler"))
    scheduler_type = args.pop("lr_scheduler_type", "")
    if scheduler_type:
        torch_names = {path: name for name, path in k.TORCH_SCHEDULERS.items()}
        full = scheduler_type if "." in scheduler_type else f"torch.optim.lr_scheduler.{scheduler_type}"
        if full not in torch_names:
            raise ConfigError(
                f"lr_scheduler_type = {scheduler_type!r} is a scheduler class lorakit does not train with.",
                f"Use one of sd-scripts' lr_scheduler names, or {', '.join(torch_names)}.",
                field="learning.lr_scheduler",
            )
        _put(tree, "learning.lr_scheduler", torch_names[full])
    _optimizer(args, tree)
    _network(args, tree, notes)
    attention = [name for name, flag in k.ATTENTION_FLAGS.items() if args.pop(flag, False)]
    if attention:
        _put(tree, "memory.attention", attention[0])
    if "sample_prompts" in args:
        _put(tree, "samples.sample_prompts", args.pop("sample_prompts"))
    if "sample_sampler" in args:
        _put(tree, "samples.sample_sampler", args.pop("sample_sampler"))
    given_batch = args.get("train_batch_size")
    if "train_batch_size" in args:
        _put(tree, "schedule.train_batch_size", args.pop("train_batch_size"))

    dataset_keys = set(k.DATASET_KEYS) | set(_SUBSET_OPTIONS) | {"train_data_dir", "reg_data_dir"}
    if dataset is not None:
        fallback = {key: args.pop(key) for key in sorted(dataset_keys) if key in args}
        for key in ("train_data_dir", "reg_data_dir"):
            if fallback.pop(key, None) is not None:
                notes.append(f"{key} is ignored because a dataset TOML lists the folders (as sd-scripts does).")
        _dataset_from_toml(dataset, fallback, tree, notes)
        used = tree.get("schedule", {}).get("train_batch_size")
        if given_batch is not None and used != given_batch:
            notes.append(
                f"The dataset TOML's batch_size = {used} is used, not train_batch_size = {given_batch}"
                " (sd-scripts does the same: the dataset's value wins)."
            )
    else:
        for key in ("train_data_dir", "reg_data_dir", *k.DATASET_KEYS):
            if key in args:
                _put(tree, f"dataset.{key}", args.pop(key))
        if isinstance(args.get("face_crop_aug_range"), str):  # the argument is "2.0,4.0" text
            args["face_crop_aug_range"] = [k.parse_arg_value(v) for v in args["face_crop_aug_range"].split(",")]
        for name in _SUBSET_OPTIONS:
            if name in args:
                _put(tree, f"{_SECTION_OF_OPTION[name]}.{name}", args.pop(name))

    index = _generic_index()
    unused = []
    for key, value in args.items():
        if key in index:
            _put(tree, index[key], value)
        elif key not in _NOT_SETTINGS:
            unused.append(key)
    if unused:
        notes.append(f"sd-scripts settings lorakit does not use: {', '.join(sorted(unused))}")
    for secret in ("wandb_api_key", "huggingface_token"):
        if config.get(secret):
            notes.append(f"{secret} was not imported: keep secrets in `lorakit models login` or the environment.")

    if lorakit:
        lorakit = dict(lorakit)
        names = lorakit.pop("subset_names", None)
        unset = lorakit.pop("unset", [])
        if not isinstance(names, (list, type(None))) or not isinstance(unset, list):
            raise ConfigError("lorakit.toml is damaged (subset_names or unset).", "Export again from lorakit.")
        kept = lorakit.get("learning")
        if isinstance(kept, dict) and "lr_scheduler_args" in kept:  # lorakit.toml's table replaces, not merges
            tree.get("learning", {}).pop("lr_scheduler_args", None)
        tree = deep_merge(tree, lorakit)
        for path in unset:  # values sd-scripts needed spelled out that lorakit leaves empty
            _put(tree, path, None)
        for subset, name in zip(tree.get("dataset", {}).get("subsets", []), names or [], strict=False):
            if name:
                subset["name"] = name
    return k.ImportResult(config_from_dict(tree, source="The imported sd-scripts config"), notes)


def _kind(path: Path, data: dict[str, Any]) -> str:
    if path.name == "lorakit.toml" or "subset_names" in data or "config_version" in data:
        return "lorakit"
    if "datasets" in data or "general" in data:
        return "dataset"
    return "config"


def read(*paths: str | os.PathLike) -> k.ImportResult:
    """Import sd-scripts TOML files given in any order; a dataset TOML named by ``dataset_config`` is read
    too when it is not given. A ``lorakit.toml`` next to config.toml is picked up."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for raw in paths:
        path = Path(raw).expanduser()
        data = read_toml(path)
        kind = _kind(path, data)
        if kind in found:
            raise ConfigError(
                f"Two {kind} files given: {found[kind][0]} and {path}.",
                "Give one config.toml, at most one dataset.toml and at most one lorakit.toml.",
            )
        found[kind] = (path, data)
    if "config" not in found and "dataset" not in found:
        raise ConfigError("No sd-scripts config.toml or dataset.toml among the files given.", "Give config.toml.")
    config_path, config = found.get("config", (None, {}))
    config = flatten(config)
    if "dataset" not in found and config.get("dataset_config"):
        named = Path(str(config["dataset_config"])).expanduser()
        if not named.is_absolute() and config_path is not None:
            named = config_path.parent / named
        beside = config_path.parent / named.name if config_path is not None else None
        if not named.is_file() and beside is not None and beside.is_file():
            named = beside  # the folder was moved or copied: the dataset TOML sits next to config.toml
        if not named.is_file():
            raise ConfigError(
                f"config.toml names dataset_config = {str(config['dataset_config'])!r}, but {named} does not exist.",
                "Give the dataset TOML too (lorakit config import config.toml dataset.toml), or fix dataset_config.",
                field="dataset_config",
            )
        found["dataset"] = (named, read_toml(named))
    if "lorakit" not in found and config_path is not None and (config_path.parent / "lorakit.toml").is_file():
        found["lorakit"] = (config_path.parent / "lorakit.toml", read_toml(config_path.parent / "lorakit.toml"))
    dataset = found["dataset"][1] if "dataset" in found else None
    lorakit = found["lorakit"][1] if "lorakit" in found else None
    return build(config, dataset, lorakit, _script_named(config_path))


def _script_named(config_path: Path | None) -> str | None:
    """The sd-scripts script a config.toml's comments name (lorakit writes "# Run: accelerate launch ...")."""
    if config_path is None:
        return None
    for line in config_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            continue
        found = re.search(r"\b(\w+_train_network\.py|train_network\.py)\b", line)
        if found:
            return found.group(1)
    return None
