"""The export half of verify_against_sd_scripts.py: lorakit's sd-scripts files read by sd-scripts' own code.

For each config (every preset, a many-option config per family, variants), in a temporary folder with
real images: export, then do what sd-scripts' ``train_network.py`` / ``sdxl_train_network.py`` /
``flux_train_network.py`` do before training, and compare with what the lorakit config means.
"""

from __future__ import annotations

import importlib.machinery
import logging
import math
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import torch

from lorakit.config import kohya as k
from lorakit.config.catalog import top_fields
from lorakit.config.kohya import SCRIPTS, export_kohya, script_takes, to_kohya
from lorakit.config.kohya_export import HANDLED, PLAIN_NAMES
from lorakit.config.presets import list_presets, new_config
from lorakit.data.plan import plan_for_config
from lorakit.train.setup import build_lr_schedule

SCRIPT_MODULES = {
    "train_network.py": ("train_network", "NetworkTrainer"),
    "sdxl_train_network.py": ("sdxl_train_network", "SdxlNetworkTrainer"),
    "flux_train_network.py": ("flux_train_network", "FluxNetworkTrainer"),
}
# Optimizers whose class needs a CUDA build or a package not installed here: their arguments are checked
# through sd-scripts' get_optimizer with AdamW instead (the parsing is the same code path).
STAND_IN_OPTIMIZER = "AdamW"

# Subset options compared between lorakit's resolved subsets and sd-scripts' blueprint.
SUBSET_OPTIONS = (
    "num_repeats",
    "is_reg",
    "class_tokens",
    "caption_extension",
    "shuffle_caption",
    "keep_tokens",
    "keep_tokens_separator",
    "secondary_separator",
    "enable_wildcard",
    "color_aug",
    "flip_aug",
    "face_crop_aug_range",
    "random_crop",
    "caption_prefix",
    "caption_suffix",
    "caption_dropout_rate",
    "caption_dropout_every_n_epochs",
    "caption_tag_dropout_rate",
    "token_warmup_min",
    "token_warmup_step",
    "alpha_mask",
)
# Values of ours that sd-scripts spells as None (huggingface_util: None = a private repo).
SAME_AS_UNSET = {("huggingface_repo_visibility", "private")}
DATASET_OPTIONS = ("enable_bucket", "min_bucket_reso", "max_bucket_reso", "bucket_reso_steps", "bucket_no_upscale")


def _shim_imports() -> None:
    """Stand-ins so sd-scripts imports where torchvision is missing or transformers renamed a class."""
    import diffusers.models  # noqa: F401  (diffusers decides torchvision is absent before the stand-in exists)
    import transformers  # noqa: F401

    try:
        found = sys.modules["transformers"].CLIPFeatureExtractor
    except (AttributeError, ImportError, RuntimeError):
        found = sys.modules["transformers"].CLIPImageProcessor
    # transformers' lazy module replaces itself in sys.modules while it resolves a name: set it on the new one
    sys.modules["transformers"].CLIPFeatureExtractor = found
    try:
        import torchvision  # noqa: F401
    except ImportError:
        vision = types.ModuleType("torchvision")
        transforms = types.ModuleType("torchvision.transforms")
        vision.__spec__ = importlib.machinery.ModuleSpec("torchvision", None)
        transforms.__spec__ = importlib.machinery.ModuleSpec("torchvision.transforms", None)

        class _Unused:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                pass

            def __call__(self, *args: Any) -> Any:
                raise RuntimeError("torchvision stand-in: image transforms are not part of these checks")

        for name in ("Compose", "ToTensor", "Normalize", "Resize", "CenterCrop", "RandomCrop", "InterpolationMode"):
            setattr(transforms, name, _Unused)
        vision.transforms = transforms
        sys.modules["torchvision"], sys.modules["torchvision.transforms"] = vision, transforms


def load(root: Path) -> dict[str, Any]:
    _shim_imports()
    sys.path.insert(0, str(root))
    logging.disable(logging.WARNING)
    import importlib

    from library import config_util, train_util

    modules = {script: importlib.import_module(name) for script, (name, _) in SCRIPT_MODULES.items()}
    return {"train_util": train_util, "config_util": config_util, "modules": modules}


def _images(root: Path) -> dict[str, Path]:
    """Two image folders with different sizes (so buckets matter) and captions."""
    from PIL import Image

    sizes = {"ohwx": [(640, 512), (512, 640), (512, 512), (768, 512), (600, 600)], "reg": [(512, 512), (512, 704)]}
    folders = {}
    for name, shapes in sizes.items():
        folder = root / f"img_{name}"
        folder.mkdir()
        for i, (w, h) in enumerate(shapes):
            Image.new("RGB", (w, h), (i * 30, 90, 160)).save(folder / f"{i}.png")
            for ext in (".txt", ".caption"):
                (folder / f"{i}{ext}").write_text(f"{name}, tag{i}, tag{i + 1}")
        folders[name] = folder
    return folders


def _subsets(folders: dict[str, Path], **first: Any) -> list[dict[str, Any]]:
    return [
        {"image_dir": str(folders["ohwx"]), "num_repeats": 3, "class_tokens": "ohwx", **first},
        {"image_dir": str(folders["reg"]), "num_repeats": 1, "class_tokens": "person", "is_reg": True},
    ]


def configs(folders: dict[str, Path]) -> dict[str, Any]:
    """Every preset, a many-option config per family, and the variants the export has rules for."""
    files = {"model.clip_l": "/m/clip_l.safetensors", "model.t5xxl": "/m/t5.safetensors", "model.ae": "/m/ae.sft"}
    small = {"dataset.resolution": 512, "dataset.min_bucket_reso": 256, "dataset.max_bucket_reso": 1024}
    out: dict[str, Any] = {}
    for preset in list_presets():
        overrides = {
            "dataset.subsets": _subsets(folders),
            "model.pretrained_model_name_or_path": "/m/base.sft",
        } | small
        if preset.name == "tiny-demo":
            overrides.pop("model.pretrained_model_name_or_path")
        out[f"preset {preset.name}"] = new_config(preset.name, overrides | (files if "flux" in preset.name else {}))
    many = {
        "model.pretrained_model_name_or_path": "/m/base.safetensors",
        "dataset.subsets": _subsets(folders, flip_aug=True, caption_prefix="photo of ", keep_tokens=1),
        "dataset.color_aug": True,
        "dataset.face_crop_aug_range": [1.5, 3.0],
        "dataset.bucket_no_upscale": True,
        "dataset.prior_loss_weight": 0.7,
        "captions.shuffle_caption": True,
        "captions.caption_dropout_rate": 0.05,
        "captions.caption_tag_dropout_rate": 0.1,
        "captions.keep_tokens_separator": "|||",
        "schedule.train_batch_size": 2,
        "schedule.gradient_accumulation_steps": 2,
        "schedule.max_train_epochs": 3,
        "schedule.seed": 1234,
        "learning.learning_rate": 2e-4,
        "learning.unet_lr": 3e-4,
        "learning.text_encoder_lr": 5e-5,
        "learning.lr_scheduler": "cosine_with_restarts",
        "learning.lr_scheduler_num_cycles": 3,
        "learning.lr_warmup_steps": 0.1,
        "optimizer.optimizer_type": "AdamW",
        "optimizer.weight_decay": 0.05,
        "optimizer.betas": [0.9, 0.98],
        "optimizer.eps": 1e-7,
        "network.dim": 16,
        "network.alpha": 8,
        "network.conv_dim": 4,
        "network.network_dropout": 0.1,
        "noise.noise_offset": 0.05,
        "noise.min_snr_gamma": 5.0,
        "memory.mixed_precision": "bf16",
        "memory.gradient_checkpointing": True,
        "memory.cache_latents": True,
        "output.output_dir": "/runs/out",
        "output.save_every_n_epochs": 1,
        "samples.sample_prompts": ["ohwx smiling --w 512 --h 512"],
        "samples.sample_every_n_epochs": 1,
    } | small
    # Settings a script lacks (text-encoder caching on SD1, block swap off Flux) must stay out of config.toml.
    out["many sd1"] = new_config(
        None, many | {"model.family": "sd1", "model.clip_skip": 2, "memory.cache_text_encoder_outputs": True}
    )
    out["many sd2-v"] = new_config(None, many | {"model.family": "sd2-v"})
    out["many sdxl"] = new_config(
        None,
        many | {"model.family": "sdxl", "learning.text_encoder_2_lr": 2e-5, "memory.blocks_to_swap": 4},
    )
    flux = {key: v for key, v in many.items() if not key.startswith("network.conv")} | files
    out["many flux"] = new_config(
        None, flux | {"model.family": "flux", "network.train_unet_only": True, "model.guidance_scale": 1.0}
    )
    sd1 = {"model.pretrained_model_name_or_path": "/m/base.safetensors", "dataset.subsets": _subsets(folders)} | small
    variants = {
        "steps only": {"schedule.max_train_steps": 37, "schedule.seed": None},
        "two processes": {
            "multigpu.num_processes": 2,
            "learning.lr_scheduler": "cosine",
            "learning.lr_warmup_steps": 0.2,
        },
        "both epochs and steps": {"schedule.max_train_steps": 37, "schedule.max_train_epochs": 2},
        "warm restarts": {
            "learning.lr_scheduler": "cosine_annealing_warm_restarts",
            "learning.lr_scheduler_args": {"T_0": 7},
        },
        "warm restarts by steps": {
            "learning.lr_scheduler": "cosine_annealing_warm_restarts",
            "schedule.max_train_steps": 40,
            "learning.lr_scheduler_num_cycles": 3,
            "learning.lr_scheduler_min_lr_ratio": 0.1,
            "network.train_unet_only": True,
        },
        "constant with warmup set": {"learning.lr_scheduler": "constant", "learning.lr_warmup_steps": 5},
        "adafactor": {
            "optimizer.optimizer_type": "Adafactor",
            "learning.lr_scheduler": "adafactor",
            "optimizer.betas": [0.85, 0.99],
        },
        "piecewise": {
            "learning.lr_scheduler": "piecewise_constant",
            "learning.lr_scheduler_args": {"step_rules": "1:5,0.5:10,0.1"},
        },
        "cosine with min lr": {
            "learning.lr_scheduler": "cosine_with_min_lr",
            "learning.lr_scheduler_min_lr_ratio": 0.2,
        },
        "polynomial": {
            "learning.lr_scheduler": "polynomial",
            "learning.lr_scheduler_power": 2.0,
            "learning.lr_warmup_steps": 4,
        },
        "locon without conv": {"network.type": "locon"},
        "lora conv without alpha": {"network.conv_dim": 8},
        "cosine with a floor": {"learning.lr_scheduler": "cosine", "learning.lr_scheduler_min_lr_ratio": 0.3},
        "warmup stable decay": {"learning.lr_scheduler": "warmup_stable_decay", "learning.lr_warmup_steps": 3},
        "inverse sqrt": {"learning.lr_scheduler": "inverse_sqrt", "learning.lr_warmup_steps": 5},
        "linear warmup ratio": {"learning.lr_scheduler": "linear", "learning.lr_warmup_steps": 0.15},
        "constant with warmup": {"learning.lr_scheduler": "constant_with_warmup", "learning.lr_warmup_steps": 6},
        "loha conv": {"network.type": "loha", "network.conv_dim": 4, "network.conv_alpha": 2},
        "dora": {"network.type": "dora", "network.conv_dim": 4},
        "folder mode": {
            "dataset.subsets": [],
            "dataset.train_data_dir": str(folders["ohwx"].parent / "folder_mode"),
            "dataset.face_crop_aug_range": [2.0, 4.0],
            "captions.caption_extension": ".txt",
        },
    }
    for name, extra in variants.items():
        out[name] = new_config(None, sd1 | {"optimizer.optimizer_type": "AdamW"} | extra)
    return out


def _parse(sd: dict[str, Any], script: str, config_toml: Path) -> Any:
    module = sd["modules"][script]
    parser = module.setup_parser()
    command = [script, "--config_file", str(config_toml)]
    saved, sys.argv = sys.argv, command  # read_config_from_file parses sys.argv again, as the script would
    try:
        return parser, sd["train_util"].read_config_from_file(parser.parse_args(command[1:]), parser)
    finally:
        sys.argv = saved


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


class Report:
    def __init__(self) -> None:
        self.differences: list[str] = []
        self.checks: dict[str, int] = {}

    def check(self, kind: str, ok: bool, where: str, what: str) -> None:
        self.checks[kind] = self.checks.get(kind, 0) + 1
        if not ok:
            self.differences.append(f"{where}: {kind}: {what}")


def _arguments(cfg: Any, files: Any, args: Any, parser: Any, where: str, report: Report) -> None:
    dests = {action.dest for action in parser._actions}
    for key, _value in files.config.items():
        report.check("config.toml key is an argument of the script", key in dests, where, f"{key} is ignored")
    # Every generic setting: the value sd-scripts ends up with is ours (or, when we leave it empty, its default).
    # The schedule's numbers are compared through the learning rate at every step instead.
    defaults = vars(parser.parse_args([]))
    for spec in top_fields():
        key = spec.kohya
        if not key or spec.lorakit_only or (spec.path in HANDLED and spec.path not in PLAIN_NAMES):
            continue
        if not script_takes(files.script, key) or key not in dests or spec.section in ("dataset", "captions"):
            continue  # dataset options are compared through the blueprint
        if spec.section == "learning" and key not in ("learning_rate", "unet_lr"):
            continue
        if key in ("max_train_epochs", "max_train_steps"):
            continue
        ours = getattr(getattr(cfg, spec.section), spec.name)
        ours = str(ours) if isinstance(ours, Path) else ours
        expected = ours if ours is not None else defaults.get(key)
        if spec.path == "model.pretrained_model_name_or_path" and str(ours).startswith("tiny:"):
            expected = defaults.get(key)
        got = getattr(args, key)
        if got is None and (expected in ([], {}) or (key, expected) in SAME_AS_UNSET):
            got = expected  # an empty list, or sd-scripts' own meaning of None
        report.check("argument value", _same(got, expected), where, f"{key}={got!r}, ours {expected!r}")
    family = cfg.model.family
    vpred = cfg.model.v_parameterization if cfg.model.v_parameterization is not None else family == "sd2-v"
    report.check("v2", bool(args.v2) == (family in ("sd2", "sd2-v")), where, f"v2={args.v2} for {family}")
    report.check("v_parameterization", bool(args.v_parameterization) == vpred, where, f"{args.v_parameterization}")
    attention = {flag: bool(getattr(args, flag)) for flag in k.ATTENTION_FLAGS.values()}
    wanted = {flag: name == cfg.memory.attention for name, flag in k.ATTENTION_FLAGS.items()}
    report.check("attention switch", attention == wanted, where, f"{attention} for {cfg.memory.attention}")
    wanted_type = k.OPTIMIZER_TO_KOHYA.get(cfg.optimizer.optimizer_type, cfg.optimizer.optimizer_type)
    report.check("optimizer_type", args.optimizer_type.lower() == wanted_type.lower(), where, args.optimizer_type)
    _network(cfg, args, where, report)
    epochs = cfg.schedule.planned_epochs()
    report.check("max_train_epochs", args.max_train_epochs == epochs, where, f"{args.max_train_epochs} vs {epochs}")
    if epochs is None:
        steps = cfg.schedule.max_train_steps
        report.check("max_train_steps", args.max_train_steps == steps, where, f"{args.max_train_steps} vs {steps}")
    learning = cfg.learning
    te = learning.text_encoder_lr
    if learning.text_encoder_2_lr is not None:
        te = [te if te is not None else learning.learning_rate, learning.text_encoder_2_lr]
    report.check("text_encoder_lr", _same(args.text_encoder_lr, te), where, f"{args.text_encoder_lr} vs {te}")


def _network(cfg: Any, args: Any, where: str, report: Report) -> None:
    """What the network module makes of network_dim/alpha and network_args (the first lines of each module's
    create_network: networks/lora.py, lora_flux.py, dylora.py; LyCORIS' kohya.py and its presets)."""
    net = cfg.network
    module = {"lora": "networks.lora", "dylora": "networks.dylora"}.get(net.type, k.LYCORIS)
    if cfg.model.family == "flux" and module == "networks.lora":
        module = k.FLUX_LORA_MODULE
    report.check("network_module", args.network_module == module, where, f"{args.network_module} for {net.type}")
    kwargs = dict(arg.split("=", 1) for arg in (args.network_args or []))  # train_network.py's own split
    conv_on = net.conv_dim is not None
    if module == k.LYCORIS:
        # LyCORIS' config.py PRESET entries with enable_conv = False
        no_conv = ("attn-mlp", "attn-only", "full-lin", "unet-transformer-only", "ia3")
        enable_conv = kwargs.get("preset", "full") not in no_conv
        conv_dim = int(kwargs.get("conv_dim", args.network_dim) or args.network_dim) if enable_conv else 0
        conv_alpha = float(kwargs.get("conv_alpha", args.network_alpha) or args.network_alpha)
        report.check("LyCORIS algo", kwargs.get("algo") == k.NETWORK_MODULES[net.type][1]["algo"], where, str(kwargs))
    else:
        conv_dim = int(kwargs["conv_dim"]) if "conv_dim" in kwargs else 0
        conv_alpha = float(kwargs["conv_alpha"]) if "conv_alpha" in kwargs else 1.0
    report.check("3x3 convolutions on", (conv_dim > 0) == conv_on, where, f"conv_dim {conv_dim}, ours {net.conv_dim}")
    if conv_on:
        ours_alpha = net.conv_alpha if net.conv_alpha is not None else float(net.conv_dim)
        report.check("conv_dim/conv_alpha", (conv_dim, conv_alpha) == (net.conv_dim, ours_alpha), where, str(kwargs))
    report.check("network_dim", args.network_dim == net.dim, where, f"{args.network_dim}")
    report.check("network_alpha", _same(args.network_alpha, net.alpha), where, f"{args.network_alpha}")


def _dataset(cfg: Any, sd: dict[str, Any], args: Any, where: str, report: Report) -> Any:
    config_util = sd["config_util"]
    sd["train_util"].prepare_dataset_args(args, True)
    generator = config_util.BlueprintGenerator(config_util.ConfigSanitizer(True, True, args.masked_loss, True))
    if args.dataset_config is not None:
        user_config = config_util.load_user_config(args.dataset_config)
    else:
        subsets = config_util.generate_dreambooth_subsets_config_by_subdirs(args.train_data_dir, args.reg_data_dir)
        user_config = {"datasets": [{"subsets": subsets}]}
    blueprint = generator.generate(user_config, args)
    datasets = blueprint.dataset_group.datasets
    report.check("one dataset", len(datasets) == 1, where, f"{len(datasets)} datasets")
    params = datasets[0].params
    ds = cfg.dataset
    report.check("resolution", tuple(params.resolution) == tuple(ds.resolution_wh), where, f"{params.resolution}")
    report.check("batch size", params.batch_size == cfg.schedule.train_batch_size, where, f"{params.batch_size}")
    report.check("prior_loss_weight", _same(params.prior_loss_weight, ds.prior_loss_weight), where, "differs")
    for name in DATASET_OPTIONS:
        report.check(
            f"dataset {name}", _same(getattr(params, name), getattr(ds, name)), where, f"{getattr(params, name)!r}"
        )
    ours = cfg.resolved_subsets()
    theirs = [s.params for s in datasets[0].subsets]
    by_dir = {str(Path(s.image_dir)): s for s in theirs}
    report.check("subsets", len(ours) == len(theirs), where, f"{len(ours)} vs {len(theirs)}")
    for subset in ours:
        other = by_dir.get(str(Path(subset.image_dir)))
        if other is None:
            report.check("subset image_dir", False, where, f"{subset.image_dir} missing")
            continue
        for name in SUBSET_OPTIONS:
            mine, its = getattr(subset, name), getattr(other, name)
            if name == "keep_tokens_separator" and mine is None:
                mine = its if its in ("", (None,), None) else mine  # sd-scripts' own "unset" spellings
            if name == "face_crop_aug_range" and mine is not None:
                mine = tuple(mine)
            if mine == "" and its is None:
                its = ""  # an empty caption_prefix / separator: sd-scripts' None does the same
            report.check(
                f"subset {name}", _same(mine, its), where, f"{subset.label}: ours {mine!r}, sd-scripts {its!r}"
            )
    group, _ = config_util.generate_dataset_group_by_blueprint(blueprint.dataset_group)
    return group


def _steps(cfg: Any, group: Any, args: Any, where: str, report: Report) -> Any:
    plan = plan_for_config(cfg)
    # generate_dataset_group_by_blueprint has made the buckets already
    batches = len(group)
    report.check(
        "batches per epoch", batches == plan.batches_per_epoch, where, f"{batches} vs {plan.batches_per_epoch}"
    )
    pairs = {
        "training images × repeats": (group.num_train_images, plan.train_images_with_repeats),
        "regularization images × repeats": (group.num_reg_images, plan.reg_images_before_matching),
    }
    for kind, (theirs, ours) in pairs.items():
        report.check(kind, theirs == ours, where, f"sd-scripts {theirs}, plan {ours}")
    # train_network.py: epochs win; steps = epochs × ceil(len(dataloader) / processes / accumulation)
    steps = args.max_train_steps
    if args.max_train_epochs is not None:
        processes = cfg.multigpu.num_processes
        steps = args.max_train_epochs * math.ceil(batches / processes / args.gradient_accumulation_steps)
    report.check("total steps", steps == plan.total_steps, where, f"sd-scripts {steps}, plan {plan.total_steps}")
    return plan


def _optimizer_and_schedule(cfg: Any, sd: dict[str, Any], args: Any, plan: Any, where: str, report: Report) -> None:
    train_util = sd["train_util"]
    args.max_train_steps = plan.total_steps
    processes = cfg.multigpu.num_processes  # accelerate steps the scheduler once per process per step
    name = args.optimizer_type
    usable = name.lower() in ("adamw", "adafactor", "sgdnesterov", "lion") and not name.lower().endswith("8bit")
    if not usable:
        args.optimizer_type = STAND_IN_OPTIMIZER
    theirs_param = torch.nn.Parameter(torch.zeros(4))
    lr = cfg.learning.unet_lr or cfg.learning.learning_rate
    try:
        _, _, optimizer = train_util.get_optimizer(args, [{"params": [theirs_param], "lr": lr}])
    except Exception as exc:
        report.check("sd-scripts builds the optimizer", False, where, f"{type(exc).__name__}: {exc}")
        return
    report.check("sd-scripts builds the optimizer", True, where, "")
    group = optimizer.param_groups[0]
    opt = cfg.optimizer
    if opt.weight_decay is not None:
        report.check(
            "weight_decay", _same(group.get("weight_decay"), opt.weight_decay), where, f"{group.get('weight_decay')}"
        )
    if opt.betas is not None and "beta1" in group:
        report.check("betas", _same(group["beta1"], opt.betas[0]), where, f"beta1 {group['beta1']}")
    if opt.betas is not None and "betas" in group:
        report.check("betas", _same(list(group["betas"]), list(opt.betas)), where, f"{group['betas']}")
    if opt.eps is not None and "eps" in group:
        report.check("eps", _same(group["eps"], opt.eps), where, f"{group['eps']}")
    if name.lower() == "adafactor":
        report.check(
            "Adafactor fixed rate", group.get("relative_step") is False and _same(group["lr"], lr), where, f"{group}"
        )
    try:
        scheduler = train_util.get_scheduler_fix(args, optimizer, processes)
    except Exception as exc:
        report.check("sd-scripts builds the scheduler", False, where, f"{type(exc).__name__}: {exc}")
        return
    report.check("sd-scripts builds the scheduler", True, where, "")
    mine_param = torch.nn.Parameter(torch.zeros(4))
    mine_opt = torch.optim.SGD([{"params": [mine_param], "lr": lr}], lr=lr)
    learning = cfg.learning
    # The trainer's own schedule (lorakit.train.setup): over total × processes scheduler steps, stepped once per
    # process for each optimizer step, as sd-scripts' through accelerate.
    ours = build_lr_schedule(
        cfg,
        mine_opt,
        plan.total_steps * processes,
        # validation says a warmup is ignored with a fixed rate (the trainer refuses it instead)
        0 if learning.lr_scheduler in ("constant", "adafactor") else plan.warmup_steps,
        processes,
    )
    worst = 0.0
    for _ in range(plan.total_steps):
        a, b = optimizer.param_groups[0]["lr"], mine_opt.param_groups[0]["lr"]
        worst = max(worst, abs(a - b) / lr)
        optimizer.step()
        mine_opt.step()
        for _ in range(processes):
            scheduler.step()
            ours.step()
    report.check("learning rate at every step", worst < 1e-6, where, f"largest difference {worst:.3g} × lr")


def argument_names(root: Path) -> dict[str, Any]:
    """sd-scripts' argument names per script and its dataset TOML keys per level, for the golden file that
    tests/config/test_kohya_sd_scripts_names.py checks our exports against without sd-scripts."""
    sd = load(root)
    scripts = {
        script: sorted(action.dest for action in module.setup_parser()._actions if action.dest != "help")
        for script, module in sd["modules"].items()
    }
    sanitizer = sd["config_util"].ConfigSanitizer(True, True, False, True)
    levels = {
        "general": sanitizer.general_schema,
        "datasets": sanitizer.db_dataset_schema,
        "subsets": sanitizer.db_subset_schema,
    }
    dataset = {level: sorted(str(key) for key in schema) for level, schema in levels.items()}
    return {"scripts": scripts, "dataset": dataset}


def check_exports(root: Path) -> list[str]:
    sd = load(root)
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folders = _images(base)
        folder_mode = base / "folder_mode"
        folder_mode.mkdir()
        (folders["ohwx"]).rename(folder_mode / "3_ohwx")
        folders["ohwx"].symlink_to(folder_mode / "3_ohwx", target_is_directory=True)
        all_configs = configs(folders)
        for name, cfg in all_configs.items():
            out = base / name.replace(" ", "_")
            files = to_kohya(cfg)
            export_kohya(cfg, out)
            report.check("script", files.script == SCRIPTS.get(cfg.model.family, files.script), name, files.script)
            try:
                parser, args = _parse(sd, files.script, out / "config.toml")
                sd["train_util"].verify_training_args(args)
                trainer_name = SCRIPT_MODULES[files.script][1]
                _arguments(cfg, files, args, parser, name, report)
                group = _dataset(cfg, sd, args, name, report)
                trainer = getattr(sd["modules"][files.script], trainer_name)()
                trainer.assert_extra_args(args, group, None)
                report.check("sd-scripts accepts the arguments", True, name, "")
            except (Exception, SystemExit) as exc:  # whatever stops sd-scripts is a finding
                report.check("sd-scripts accepts the arguments", False, name, f"{type(exc).__name__}: {exc}")
                continue
            plan = _steps(cfg, group, args, name, report)
            _optimizer_and_schedule(cfg, sd, args, plan, name, report)
    total = sum(report.checks.values())
    print(f"export: {len(all_configs)} configs, {total} comparisons, {len(report.differences)} differences")
    for kind, count in report.checks.items():
        print(f"  {count:5d}  {kind}")
    return report.differences
