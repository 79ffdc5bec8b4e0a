"""sd-scripts export rules for the learning-rate schedule and the optimizer, where a plain ``name = value``
would train differently (or not start) in sd-scripts.

What sd-scripts does with them (library/train_util.py, ``get_scheduler_fix`` and ``get_optimizer``):

- ``optimizer_args`` / ``lr_scheduler_args`` are ``key=value`` texts read with ``ast.literal_eval`` and no
  fallback, so text values are quoted (:func:`lorakit.config.kohya.format_literal`).
- ``constant`` (and ``lr_scheduler_type``) refuse any warmup; the ``adafactor`` name needs Adafactor's own
  relative step. lorakit's ``adafactor`` and ``constant`` are a fixed rate, so they export as ``constant``
  and a warmup (ignored by lorakit, refused by sd-scripts) stays in lorakit.toml.
- ``cosine_annealing_warm_restarts`` is torch's class, built through ``lr_scheduler_type``; ``rex`` has no
  faithful counterpart and is refused (the REX class in pytorch_optimizer sets one absolute rate for all
  parameter groups, has no warmup and starts at zero).
- Adafactor: sd-scripts defaults to ``relative_step=True`` (its own rate, the learning rate ignored);
  lorakit's trainer uses the learning rate as given, so the export spells out the fixed-rate switches.
"""

from __future__ import annotations

from typing import Any

from lorakit.config import kohya as k
from lorakit.config.schema import TrainConfig
from lorakit.errors import ConfigError

# lorakit's trainer builds transformers' Adafactor with these unless optimizer_args says otherwise.
ADAFACTOR_FIXED_RATE = {"relative_step": False, "scale_parameter": False, "warmup_init": False}


def _learning_rates(cfg: TrainConfig) -> set[float]:
    """The distinct learning rates of the parameter groups (UNet, and the text encoders when trained)."""
    learning = cfg.learning
    unet = learning.unet_lr if learning.unet_lr is not None else learning.learning_rate
    rates = {unet}
    if not cfg.network.train_unet_only:
        te1 = learning.text_encoder_lr if learning.text_encoder_lr is not None else learning.learning_rate
        rates.add(te1)
        if learning.text_encoder_2_lr is not None and cfg.model.family in ("sdxl", "auto"):
            rates.add(learning.text_encoder_2_lr)
    return rates


def _refuse(problem: str, fix: str, field: str = "learning.lr_scheduler") -> ConfigError:
    return ConfigError(f"Cannot export to sd-scripts: {problem}", fix, field=field)


def _warm_restarts(cfg: TrainConfig, out: dict[str, Any], notes: list[str]) -> None:
    """torch's CosineAnnealingWarmRestarts through lr_scheduler_type, when that trains exactly like lorakit."""
    learning, schedule = cfg.learning, cfg.schedule
    if learning.lr_warmup_steps:
        raise _refuse(
            "sd-scripts builds cosine_annealing_warm_restarts through lr_scheduler_type, which refuses a warmup.",
            "Set learning.lr_warmup_steps = 0 to export this schedule.",
            "learning.lr_warmup_steps",
        )
    args = dict(learning.lr_scheduler_args)
    if "T_0" not in args:
        if schedule.max_train_epochs is not None or schedule.max_train_steps is None:
            raise _refuse(
                "cosine_annealing_warm_restarts without T_0 restarts after the run's steps / num_cycles, which"
                " lorakit knows only once the dataset is scanned; sd-scripts' class needs the number up front.",
                "Set learning.lr_scheduler_args = {T_0 = <steps per cycle>}, or train by max_train_steps.",
                "learning.lr_scheduler_args",
            )
        args["T_0"] = max(1, schedule.max_train_steps // learning.lr_scheduler_num_cycles)
    floor = learning.lr_scheduler_min_lr_ratio or 0.0
    rates = _learning_rates(cfg)
    eta_min = float(args.pop("eta_min", floor * min(rates)))
    if eta_min and len(rates) > 1:
        raise _refuse(
            "torch's CosineAnnealingWarmRestarts has one absolute floor (eta_min) for every parameter group;"
            " lorakit scales the floor with each group's learning rate, and this config has several.",
            "Use one learning rate (empty unet_lr / text_encoder_lr), or no floor, to export this schedule.",
            "learning.lr_scheduler_min_lr_ratio",
        )
    processes = cfg.multigpu.num_processes
    # accelerate steps a prepared scheduler once per process for each optimizer step.
    args["T_0"] = int(args["T_0"]) * processes
    if eta_min:
        args["eta_min"] = eta_min
    out["lr_scheduler_type"] = k.TORCH_SCHEDULERS["cosine_annealing_warm_restarts"]
    out["lr_scheduler_args"] = k.literal_args_list(args)
    if processes > 1:
        notes.append(f"T_0 is written × {processes}: accelerate steps sd-scripts' scheduler once per process.")


# lorakit lifts every decaying schedule onto [lr_scheduler_min_lr_ratio, 1]; in sd-scripts only these read it.
_FLOORED = frozenset({"cosine_with_min_lr", "warmup_stable_decay"})


def _floor(cfg: TrainConfig, out: dict[str, Any], keep: Any) -> None:
    """lr_scheduler_min_lr_ratio where sd-scripts' schedule has no such floor."""
    learning = cfg.learning
    name, floor = learning.lr_scheduler, learning.lr_scheduler_min_lr_ratio
    if name == "polynomial":
        # transformers' polynomial decays to lr_end (default 1e-7, absolute) relative to the optimizer's lr,
        # which sd-scripts builds from learning_rate: lr_end = floor × learning_rate is lorakit's curve.
        out["lr_scheduler_args"] = k.literal_args_list(
            {"lr_end": (floor or 0.0) * learning.learning_rate} | learning.lr_scheduler_args
        )
    elif name == "warmup_stable_decay":
        # lorakit's trainer reads the decay from learning.lr_decay_steps, a decay_steps in lr_scheduler_args
        # winning; sd-scripts reads lr_decay_steps only and passes lr_scheduler_args on to transformers.
        args = dict(learning.lr_scheduler_args)
        if "decay_steps" in args:
            out["lr_decay_steps"] = args.pop("decay_steps")
            keep("learning", "lr_scheduler_args", dict(learning.lr_scheduler_args))
            keep("learning", "lr_decay_steps", learning.lr_decay_steps)
        else:
            out["lr_decay_steps"] = learning.lr_decay_steps
        out["lr_scheduler_args"] = k.literal_args_list(args) if args else []
    elif floor and name == "cosine":
        keep("learning", "lr_scheduler", name)  # cosine_with_min_lr with one cycle is a floored half cosine
        out["lr_scheduler"] = "cosine_with_min_lr"
        if learning.lr_scheduler_num_cycles != 1:
            keep("learning", "lr_scheduler_num_cycles", learning.lr_scheduler_num_cycles)
            out["lr_scheduler_num_cycles"] = 1
    elif floor and name not in _FLOORED and name not in k.CONSTANT_SCHEDULERS | {"constant_with_warmup"}:
        raise _refuse(
            f"sd-scripts' {name!r} schedule has no lowest learning rate, but lr_scheduler_min_lr_ratio is {floor}.",
            "Empty learning.lr_scheduler_min_lr_ratio, or use 'cosine', 'cosine_with_min_lr' or 'polynomial'.",
            "learning.lr_scheduler_min_lr_ratio",
        )


def export_schedule(cfg: TrainConfig, out: dict[str, Any], keep: Any, notes: list[str]) -> None:
    """lr_scheduler (+ _type, _args) and lr_warmup_steps into ``out``; what sd-scripts cannot take into
    lorakit.toml through ``keep(section, name, value)``."""
    learning = cfg.learning
    name = learning.lr_scheduler
    if name == "rex":
        raise _refuse(
            "sd-scripts has no REX schedule (pytorch_optimizer's REXScheduler gives every parameter group one"
            " absolute rate, has no warmup and starts at zero), so no export trains like this config.",
            "Choose another learning.lr_scheduler (e.g. 'cosine' or 'linear') to export to sd-scripts.",
        )
    if name == "cosine_with_min_lr" and learning.lr_scheduler_min_lr_ratio is None:
        raise _refuse(
            "lr_scheduler 'cosine_with_min_lr' needs lr_scheduler_min_lr_ratio; sd-scripts stops without it.",
            "Set learning.lr_scheduler_min_lr_ratio (e.g. 0.1), or use lr_scheduler = 'cosine'.",
            "learning.lr_scheduler_min_lr_ratio",
        )
    warmup = learning.lr_warmup_steps
    if name in k.LORAKIT_SCHEDULERS or name == "adafactor":
        keep("learning", "lr_scheduler", name)
    if name == "cosine_annealing_warm_restarts":
        keep("learning", "lr_scheduler_args", dict(learning.lr_scheduler_args))  # replaces the written ones
        _warm_restarts(cfg, out, notes)
        return
    _floor(cfg, out, keep)
    out.setdefault("lr_scheduler", "constant" if name == "adafactor" else name)  # always: a reader looks for it
    if warmup and name in k.CONSTANT_SCHEDULERS:
        keep("learning", "lr_warmup_steps", warmup)
        notes.append(
            f"lr_scheduler {name!r} has no warmup (lorakit ignores lr_warmup_steps, sd-scripts refuses it):"
            " config.toml leaves it out; lorakit.toml keeps it."
        )
    elif warmup:
        out["lr_warmup_steps"] = warmup
    if learning.lr_scheduler_args and "lr_scheduler_args" not in out:
        out["lr_scheduler_args"] = k.literal_args_list(learning.lr_scheduler_args)
    if not out.get("lr_scheduler_args"):
        out.pop("lr_scheduler_args", None)


def export_optimizer(cfg: TrainConfig, out: dict[str, Any], keep: Any) -> None:
    """optimizer_type and optimizer_args (weight_decay, betas, eps and the extra arguments)."""
    opt = cfg.optimizer
    out["optimizer_type"] = k.OPTIMIZER_TO_KOHYA.get(opt.optimizer_type, opt.optimizer_type)
    args = {name: getattr(opt, name) for name in k.OPTIMIZER_ARGS if getattr(opt, name) is not None}
    if opt.optimizer_type == "Adafactor":
        args |= ADAFACTOR_FIXED_RATE
        if "betas" in args:  # Adafactor has one momentum, beta1 (lorakit's trainer passes betas[0] there)
            args["beta1"] = args.pop("betas")[0]
            keep("optimizer", "betas", list(opt.betas or ()))
    args |= opt.optimizer_args
    if args:
        out["optimizer_args"] = k.literal_args_list(args)


def import_optimizer_args(name: str, opt_args: dict[str, Any]) -> dict[str, Any]:
    """Adafactor in sd-scripts means transformers' defaults (relative_step=True, scale_parameter=True: its own
    rate) unless optimizer_args says otherwise; lorakit's defaults are the fixed-rate switches, so an import
    spells out only what differs from them."""
    if name != "Adafactor":
        return opt_args
    meant = {"relative_step": True, "scale_parameter": True} | opt_args
    if "beta1" in meant and isinstance(meant["beta1"], (int, float)) and not isinstance(meant["beta1"], bool):
        meant["betas"] = [meant.pop("beta1"), 0.999]  # only the first one reaches Adafactor
    return {key: v for key, v in meant.items() if ADAFACTOR_FIXED_RATE.get(key, object()) != v}


__all__ = ["ADAFACTOR_FIXED_RATE", "export_optimizer", "export_schedule", "import_optimizer_args"]
