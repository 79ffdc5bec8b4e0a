"""Learning-rate schedules: how the learning rate changes over the steps of a run.

Public functions (stable names):

- ``build_scheduler(name, optimizer, total_steps, warmup_steps=0, num_cycles=1, power=1.0, min_lr_ratio=0.0,
  args=None) -> torch.optim.lr_scheduler.LRScheduler``
- ``lr_curve(name, total_steps, warmup_steps=0, num_cycles=1, power=1.0, min_lr_ratio=0.0, args=None)
  -> Callable[[int], float]``: the multiplier of the base learning rate at each step (for plots and
  previews; ``build_scheduler`` uses the same curve).
- ``SCHEDULERS``: the names accepted.

Every built-in schedule is a ``LambdaLR`` whose ``state_dict()`` holds only numbers (its step count and
base learning rates), so a resumed run needs that and the same settings. Steps and warmup are exact
optimizer-step counts, computed by the step plan. ``name`` may also be a dotted class path
(``torch.optim.lr_scheduler.StepLR``) built with ``args``.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

import torch

from lorakit.errors import ConfigError

SCHEDULERS = (
    "constant",
    "constant_with_warmup",
    "linear",
    "cosine",
    "cosine_with_restarts",
    "cosine_with_min_lr",
    "polynomial",
    "rex",
    "cosine_annealing_warm_restarts",
    "piecewise_constant",
    "inverse_sqrt",
    "warmup_stable_decay",
)
_ALIASES = {
    "cosineannealingwarmrestarts": "cosine_annealing_warm_restarts",
    "cosine_annealing_with_warm_restarts": "cosine_annealing_warm_restarts",
    "rex_annealing_warm_restarts": "rex",
    "rexannealingwarmrestarts": "rex",
    # sd-scripts' "adafactor" schedule only reports Adafactor's own learning rate: the multiplier stays 1.
    "adafactor": "constant",
    "wsd": "warmup_stable_decay",
}


def _bad(problem: str, fix: str, field: str = "lr_scheduler") -> ConfigError:
    return ConfigError(problem, fix, field=field)


class _Curve:
    """A learning-rate multiplier: linear warmup from 0, then ``decay(progress)`` from 1 to its floor.

    ``progress`` runs from 0 at the end of warmup to 1 at ``total_steps``; the decay is lifted onto
    ``[min_lr_ratio, 1]``. The same shape as transformers' schedules (``step / warmup`` during warmup).
    """

    def __init__(self, decay: Callable[[float], float], total_steps: int, warmup_steps: int, min_lr_ratio: float):
        self.decay = decay
        self.total = total_steps
        self.warmup = warmup_steps
        self.floor = min_lr_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return step / max(1, self.warmup)
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.floor + (1.0 - self.floor) * max(0.0, self.decay(progress))


def _cosine(progress: float) -> float:
    # Loshchilov & Hutter 2017 (SGDR) half cosine: 1 → 0.
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _cosine_restarts(cycles: int) -> Callable[[float], float]:
    # transformers' hard restarts: `cycles` half-cosines back to back; 0 after the last step.
    def f(progress: float) -> float:
        if progress >= 1.0:
            return 0.0
        return 0.5 * (1.0 + math.cos(math.pi * ((cycles * progress) % 1.0)))

    return f


def _rex(d: float, cycles: int, gamma: float) -> Callable[[float], float]:
    # Chen, Wolfe & Kyrillidis 2022, "REX: Revisiting Budgeted Training with an Improved Schedule":
    # f(z) = (1 − z) / (1/2 + 1/2·(1 − z)) = (1 − z)/(1 − z/2). Here with the curvature d (d = 1/2 is the
    # paper; d = 0 is linear): (1 − z)/(1 − d·z). With restarts each cycle's peak is gamma**cycle.
    def f(progress: float) -> float:
        if progress >= 1.0:
            return 0.0
        cycle, z = divmod(progress * cycles, 1.0)
        return gamma**cycle * (1.0 - z) / (1.0 - d * z)

    return f


def _cosine_cycles(cycles: float) -> Callable[[float], float]:
    # transformers' cosine_with_min_lr as sd-scripts calls it (num_cycles / 2 there): cycles = 1 is a half cosine.
    return lambda progress: 0.5 * (1.0 + math.cos(math.pi * cycles * progress))


class _InverseSqrt:
    """transformers' inverse_sqrt: warmup, then 1/√(1 + s/timescale) for s steps after warmup."""

    def __init__(self, warmup_steps: int, timescale: float):
        self.warmup, self.timescale = warmup_steps, timescale

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return step / max(1, self.warmup)
        return 1.0 / math.sqrt(1.0 + (step - self.warmup) / self.timescale)


class _WarmupStableDecay:
    """Warmup, a flat stretch at the full rate, then a half-cosine decay to ``floor`` over the last steps.

    Hu et al. 2024, "MiniCPM" (the WSD schedule); transformers' ``get_wsd_schedule`` with cosine decay.
    """

    def __init__(self, total_steps: int, warmup_steps: int, decay_steps: int, floor: float):
        self.warmup, self.decay, self.floor = warmup_steps, decay_steps, floor
        self.decay_start = total_steps - decay_steps

    def __call__(self, step: int) -> float:
        if step < self.warmup:  # transformers' WSD warms up from the floor, not from 0
            return self.floor + (1.0 - self.floor) * step / max(1, self.warmup)
        if step < self.decay_start:
            return 1.0
        progress = min(1.0, (step - self.decay_start) / max(1, self.decay))
        return self.floor + (1.0 - self.floor) * _cosine(progress)


def _polynomial(power: float) -> Callable[[float], float]:
    return lambda progress: (1.0 - progress) ** power


def _sgdr(t_0: int, t_mult: int) -> Callable[[int], float]:
    # Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts", eq. 5: within
    # restart period i of length T_i = T_0·T_mult^i, the multiplier is (1 + cos(π·T_cur/T_i))/2.
    def f(step: int) -> float:
        t_cur, t_i = step, t_0
        while t_cur >= t_i:
            t_cur -= t_i
            t_i *= t_mult
        return 0.5 * (1.0 + math.cos(math.pi * t_cur / t_i))

    return f


class _StepCurve:
    """Warmup, then a function of the steps after warmup lifted onto [floor, 1] (SGDR)."""

    def __init__(self, f: Callable[[int], float], warmup_steps: int, min_lr_ratio: float):
        self.f, self.warmup, self.floor = f, warmup_steps, min_lr_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return step / max(1, self.warmup)
        return self.floor + (1.0 - self.floor) * self.f(step - self.warmup)


class _Piecewise:
    """diffusers' ``piecewise_constant``: ``"1:10,0.1:20,0.01"`` = ×1 before step 10, ×0.1 before 20, then ×0.01."""

    def __init__(self, step_rules: str):
        self.rules: list[tuple[int, float]] = []
        self.last = 1.0
        parts = [p.strip() for p in str(step_rules).split(",") if p.strip()]
        try:
            for part in parts[:-1]:
                value, step = part.split(":")
                self.rules.append((int(step), float(value)))
            self.last = float(parts[-1])
        except (ValueError, IndexError):
            raise _bad(
                f"The piecewise_constant rules {step_rules!r} cannot be read.",
                "Write them as multiplier:until_step pairs and a final multiplier, e.g. step_rules=1:100,0.1:200,0.01",
                "lr_scheduler_args",
            ) from None
        self.rules.sort()

    def __call__(self, step: int) -> float:
        for until, value in self.rules:
            if step < until:
                return value
        return self.last


def _check(name: str, total_steps: int, warmup_steps: int, num_cycles: int, power: float, min_lr_ratio: float):
    if total_steps < 1:
        raise _bad(f"The run has {total_steps} steps.", "Train for at least one step.", "max_train_steps")
    if not 0 <= warmup_steps <= total_steps:
        raise _bad(
            f"Warmup of {warmup_steps} steps does not fit a run of {total_steps} steps.",
            "Use a warmup between 0 and the number of steps (5-10% of the run is typical).",
            "lr_warmup_steps",
        )
    if name == "constant" and warmup_steps:
        raise _bad(
            "The 'constant' schedule has no warmup.",
            "Use 'constant_with_warmup', or set the warmup to 0.",
            "lr_warmup_steps",
        )
    if num_cycles < 1:
        raise _bad(f"num_cycles is {num_cycles}.", "Use 1 or more cycles.", "lr_scheduler_num_cycles")
    if power <= 0:
        raise _bad(f"The polynomial power is {power}.", "Use a power above 0 (1 = linear).", "lr_scheduler_power")
    if not 0.0 <= min_lr_ratio <= 1.0:
        raise _bad(
            f"min_lr_ratio is {min_lr_ratio}.",
            "Use a ratio between 0 and 1 (the final learning rate as a fraction of the start).",
            "lr_scheduler_min_lr_ratio",
        )


def _config_default(name: str) -> Any:
    """A learning-section field's default: the scheduler reads the config's names and defaults, never its own."""
    from lorakit.config.sections.training import LearningSection

    return LearningSection.model_fields[name].default


def _arg(args: dict[str, Any], key: str, default: Any, cast: type) -> Any:
    try:
        return cast(args.get(key, default))
    except (TypeError, ValueError):
        raise _bad(f"lr_scheduler_args {key}={args.get(key)!r} is not a number.", f"Give {key} as a number.") from None


def lr_curve_name(name: str) -> str:
    """The schedule's name as :data:`SCHEDULERS` spells it (``"Cosine-Annealing-Warm-Restarts"`` too)."""
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def lr_curve(
    name: str,
    total_steps: int,
    warmup_steps: int = 0,
    num_cycles: int = 1,
    power: float = 1.0,
    min_lr_ratio: float = 0.0,
    args: dict[str, Any] | None = None,
    base_lr: float | None = None,
    *,
    decay_steps: float | None = None,
    rex_d: float | None = None,
    rex_gamma: float | None = None,
) -> Callable[[int], float]:
    """The multiplier of the base learning rate at each optimizer step, for a built-in schedule.

    ``decay_steps`` (learning.lr_decay_steps: steps, or a fraction of the run) for warmup_stable_decay and
    ``rex_d`` / ``rex_gamma`` (learning.rex_d / rex_gamma) for rex; None = the config's default.
    ``args`` (from ``lr_scheduler_args``; a key there wins over the matching value above): ``rex_d``,
    ``rex_gamma``, ``decay_steps``;
    ``T_0`` (steps after warmup / num_cycles), ``T_mult`` (1) and ``eta_min`` (an absolute learning rate;
    needs ``base_lr``) for cosine_annealing_warm_restarts; ``step_rules`` for piecewise_constant;
    ``timescale`` (the warmup, or 10000) for inverse_sqrt.
    """
    args = dict(args or {})
    decay_steps = _config_default("lr_decay_steps") if decay_steps is None else decay_steps
    rex_d = _config_default("rex_d") if rex_d is None else rex_d
    rex_gamma = _config_default("rex_gamma") if rex_gamma is None else rex_gamma
    key = lr_curve_name(name)
    if key not in SCHEDULERS:
        raise _bad(f"Unknown learning-rate schedule {name!r}.", f"Use one of: {', '.join(SCHEDULERS)}.")
    _check(key, total_steps, warmup_steps, num_cycles, power, min_lr_ratio)
    if key in ("constant", "constant_with_warmup"):
        return _Curve(lambda progress: 1.0, total_steps, warmup_steps, 0.0)
    if key == "linear":
        return _Curve(_polynomial(1.0), total_steps, warmup_steps, min_lr_ratio)
    if key == "polynomial":
        return _Curve(_polynomial(power), total_steps, warmup_steps, min_lr_ratio)
    if key == "cosine":
        return _Curve(_cosine, total_steps, warmup_steps, min_lr_ratio)
    if key == "cosine_with_restarts":
        return _Curve(_cosine_restarts(num_cycles), total_steps, warmup_steps, min_lr_ratio)
    if key == "cosine_with_min_lr":
        return _Curve(_cosine_cycles(num_cycles), total_steps, warmup_steps, min_lr_ratio)
    if key == "inverse_sqrt":
        timescale = _arg(args, "timescale", warmup_steps or 10_000, float)
        if timescale <= 0:
            raise _bad(f"timescale={timescale} is out of range.", "Use a timescale above 0 steps.")
        return _InverseSqrt(warmup_steps, timescale)
    if key == "warmup_stable_decay":
        decay = _arg(args, "decay_steps", decay_steps, float)
        decay_steps = int(decay * total_steps) if decay < 1 else int(decay)
        if not 0 <= decay_steps <= total_steps - warmup_steps:
            raise _bad(
                f"decay_steps={decay_steps} does not fit after a warmup of {warmup_steps} in {total_steps} steps.",
                "Use decay_steps between 0 and the steps left after warmup (or a fraction such as 0.1).",
                "lr_scheduler_args",
            )
        return _WarmupStableDecay(total_steps, warmup_steps, decay_steps, min_lr_ratio)
    if key == "rex":
        d = _arg(args, "rex_d", rex_d, float)
        gamma = _arg(args, "rex_gamma", rex_gamma, float)
        if not 0.0 <= d < 1.0 or not 0.0 < gamma <= 1.0:
            raise _bad(f"rex_d={d}, rex_gamma={gamma} are out of range.", "Use 0 <= rex_d < 1 and 0 < rex_gamma <= 1.")
        return _Curve(_rex(d, num_cycles, gamma), total_steps, warmup_steps, min_lr_ratio)
    if key == "cosine_annealing_warm_restarts":
        t_0 = _arg(args, "T_0", max(1, (total_steps - warmup_steps) // num_cycles), int)
        t_mult = _arg(args, "T_mult", 1, int)
        if t_0 < 1 or t_mult < 1:
            raise _bad(f"T_0={t_0}, T_mult={t_mult} are out of range.", "Use T_0 >= 1 step and T_mult >= 1.")
        floor = min_lr_ratio
        if "eta_min" in args:
            eta_min = _arg(args, "eta_min", 0.0, float)
            floor = eta_min / base_lr if base_lr else 0.0
        return _StepCurve(_sgdr(t_0, t_mult), warmup_steps, min(1.0, floor))
    return _Piecewise(args.get("step_rules", "1"))


def parse_scheduler_args(args: dict[str, Any] | list[str] | str | None) -> dict[str, Any]:
    """``["T_0=100", "T_mult=2"]`` or ``"T_0=100 T_mult=2"`` or a dict → a dict with numbers parsed."""
    from lorakit.train.optimizers import parse_optimizer_args

    return parse_optimizer_args(args, field="lr_scheduler_args")


def build_scheduler(
    name: str,
    optimizer: torch.optim.Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    num_cycles: int = 1,
    power: float = 1.0,
    min_lr_ratio: float = 0.0,
    args: dict[str, Any] | list[str] | str | None = None,
    *,
    decay_steps: float | None = None,
    rex_d: float | None = None,
    rex_gamma: float | None = None,
) -> torch.optim.lr_scheduler.LRScheduler:
    """A learning-rate scheduler for ``optimizer``; call ``.step()`` once per optimizer step.

    Built-in names are listed in :data:`SCHEDULERS`; a dotted path (``torch.optim.lr_scheduler.OneCycleLR``)
    builds that class with ``args``. Bad values raise :class:`ConfigError` naming the setting.
    """
    kwargs = parse_scheduler_args(args)
    from lorakit.train.optimizers import is_schedule_free

    if is_schedule_free(optimizer) and lr_curve_name(name) not in ("constant", "constant_with_warmup"):
        # Schedule-free optimizers replace the decay with weight averaging (Defazio et al. 2024); a decaying
        # schedule on top would shrink steps twice. sd-scripts silently swaps in a constant schedule.
        raise _bad(
            f"The schedule-free optimizer {type(optimizer).__name__} needs a constant learning rate, not {name!r}.",
            "Set lr_scheduler to constant (or constant_with_warmup for a short warmup).",
        )
    if "." in name:
        return _dotted_scheduler(name, optimizer, kwargs)
    curves = [
        lr_curve(
            name,
            total_steps,
            warmup_steps,
            num_cycles,
            power,
            min_lr_ratio,
            kwargs,
            base_lr=group["lr"],
            decay_steps=decay_steps,
            rex_d=rex_d,
            rex_gamma=rex_gamma,
        )
        for group in optimizer.param_groups
    ]
    # Plain functions, not objects: LambdaLR then keeps only numbers in its state_dict, so a saved state
    # loads with torch.load(weights_only=True) and resuming needs just the step count and the settings.
    return torch.optim.lr_scheduler.LambdaLR(optimizer, [_as_function(c) for c in curves])


def _as_function(curve: Callable[[int], float]) -> Callable[[int], float]:
    def multiplier(step: int) -> float:
        return curve(step)

    return multiplier


def _dotted_scheduler(path: str, optimizer: torch.optim.Optimizer, kwargs: dict[str, Any]):
    module_name, _, class_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise _bad(
            f"The scheduler class {path!r} cannot be found.", "Check the spelling and that its package is installed."
        ) from None
    try:
        return cls(optimizer, **kwargs)
    except TypeError as exc:
        raise _bad(
            f"{path} does not accept the arguments {kwargs}: {exc}.", "Fix lr_scheduler_args.", "lr_scheduler_args"
        ) from None
