"""Optimizers by name, their extra arguments, LoRA+ parameter groups, and schedule-free train/eval modes.

Public functions (stable names):

- ``build_optimizer(name, param_groups, lr, weight_decay=None, betas=None, eps=None, args=None)
  -> torch.optim.Optimizer``
- ``parse_optimizer_args(args, field="optimizer_args") -> dict``: ``["k=v", ...]``, ``"k=v k2=v2"`` or a dict.
- ``loraplus_groups(named_params, lr, loraplus_lr_ratio=None, name="") -> list[dict]``
- ``optimizer_mode(optimizer, training: bool) -> None``: schedule-free optimizers need ``train()`` before
  training steps and ``eval()`` before sampling or saving; a no-op for the others.
- ``is_schedule_free(optimizer) -> bool`` and ``OPTIMIZERS`` (the names accepted, in the user's spelling).

torch's AdamW (and Adam) use the fused kernel on a CUDA GPU, and anywhere with fp16/bf16 LoRA weights
(full_fp16/full_bf16: its fp32 arithmetic avoids a 0/0), unless ``optimizer_args`` sets ``fused`` or
``foreach`` (``fused=False`` gives torch's default, the multi-tensor ``foreach`` step on a GPU); otherwise
on a CPU torch's default applies unless ``optimizer_args`` asks for ``foreach=True`` or ``fused=True``.

``betas``/``eps`` left as ``None`` use each optimizer's own defaults (they differ: Lion, CAME, Adafactor).
``args`` (sd-scripts' ``optimizer_args``) are passed last and win.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterable
from typing import Any

import torch

from lorakit.config.sections.training import OPTIMIZERS  # the one list of names; the registry covers each
from lorakit.errors import ConfigError, TrainingError

# name (lowercase) → (module, class, fixed keyword arguments). The user's spelling is kept in OPTIMIZERS.
_REGISTRY: dict[str, tuple[str, str, dict[str, Any]]] = {
    "adamw": ("torch.optim", "AdamW", {}),
    "adamw8bit": ("bitsandbytes.optim", "AdamW8bit", {}),
    "pagedadamw": ("bitsandbytes.optim", "PagedAdamW", {}),
    "pagedadamw8bit": ("bitsandbytes.optim", "PagedAdamW8bit", {}),
    "pagedadamw32bit": ("bitsandbytes.optim", "PagedAdamW32bit", {}),
    "sgdnesterov8bit": ("bitsandbytes.optim", "SGD8bit", {"nesterov": True, "momentum": 0.9}),
    "lion8bit": ("bitsandbytes.optim", "Lion8bit", {}),
    "pagedlion8bit": ("bitsandbytes.optim", "PagedLion8bit", {}),
    "lion": ("pytorch_optimizer", "Lion", {}),
    # sd-scripts' SGDNesterov: SGD with Nesterov momentum, momentum 0.9 unless optimizer_args says otherwise.
    "sgdnesterov": ("torch.optim", "SGD", {"nesterov": True, "momentum": 0.9}),
    "prodigy": ("prodigyopt", "Prodigy", {}),
    "dadaptadam": ("pytorch_optimizer", "DAdaptAdam", {}),
    "dadaptlion": ("pytorch_optimizer", "DAdaptLion", {}),
    "dadaptadagrad": ("pytorch_optimizer", "DAdaptAdaGrad", {}),
    "dadaptadan": ("pytorch_optimizer", "DAdaptAdan", {}),
    "dadaptsgd": ("pytorch_optimizer", "DAdaptSGD", {}),
    # sd-scripts' old name for D-Adaptation Adam
    "dadaptation": ("pytorch_optimizer", "DAdaptAdam", {}),
    "dadaptadampreprint": ("pytorch_optimizer", "DAdaptAdam", {}),
    "adafactor": ("transformers.optimization", "Adafactor", {}),
    "came": ("pytorch_optimizer", "CAME", {}),
    "adamwschedulefree": ("pytorch_optimizer", "ScheduleFreeAdamW", {}),
    "radamschedulefree": ("pytorch_optimizer", "ScheduleFreeRAdam", {}),
    "sgdschedulefree": ("pytorch_optimizer", "ScheduleFreeSGD", {}),
}
_INSTALL = {
    "bitsandbytes.optim": "pip install bitsandbytes (needs an NVIDIA GPU with CUDA), or choose AdamW",
    "prodigyopt": "pip install prodigyopt (or pip install 'lorakit[train]')",
    "pytorch_optimizer": "pip install pytorch-optimizer (or pip install 'lorakit[train]')",
    "transformers.optimization": "pip install transformers (or pip install 'lorakit[train]')",
}
# `k=v` starts where a name followed by '=' starts, so values like (0.9, 0.99) keep their comma and space.
_ARG_START = re.compile(r"[\s,]+(?=[A-Za-z_][A-Za-z0-9_]*\s*=)")


def _literal(text: str) -> Any:
    # literal_eval reads numbers, booleans, None and tuples without running code; anything else is a string.
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return text


def parse_optimizer_args(
    args: dict[str, Any] | list[str] | str | None, field: str = "optimizer_args"
) -> dict[str, Any]:
    """``["weight_decay=0.01", "betas=(0.9,0.99)"]``, ``"d_coef=2 decouple=True"`` or a dict → a dict."""
    if args is None:
        return {}
    if isinstance(args, dict):
        return {str(k): (_literal(v) if isinstance(v, str) else v) for k, v in args.items()}
    items = _ARG_START.split(args.strip()) if isinstance(args, str) else [str(a).strip() for a in args]
    parsed: dict[str, Any] = {}
    for item in items:
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(
                f"The {field} entry {item!r} is not of the form name=value.",
                "Write each argument as name=value, e.g. weight_decay=0.01 or betas=(0.9,0.99).",
                field=field,
            )
        parsed[key.strip()] = _literal(value.strip())
    return parsed


def _import_class(module: str, cls: str, name: str) -> type:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        fix = _INSTALL.get(module, f"Install the package that provides {module}.")
        raise ConfigError(f"The optimizer {name} needs {module.split('.')[0]}, which is not installed.", fix) from None
    try:
        return getattr(mod, cls)
    except AttributeError:
        raise ConfigError(
            f"The optimizer class {cls!r} is not in {module}.", "Check the spelling of the dotted class path."
        ) from None


def _resolve(name: str) -> tuple[type, dict[str, Any], str]:
    key = name.strip().lower().replace("-", "").replace("_", "")
    if key in _REGISTRY:
        module, cls, fixed = _REGISTRY[key]
        if module.startswith("bitsandbytes") and not torch.cuda.is_available():
            raise TrainingError(
                f"The optimizer {name} (8-bit, bitsandbytes) needs an NVIDIA GPU, and none is available.",
                "Choose AdamW (or Adafactor to save memory) when training without a CUDA GPU.",
            )
        return _import_class(module, cls, name), dict(fixed), module
    if "." in name:
        module, _, cls = name.strip().rpartition(".")
        return _import_class(module, cls, name), {}, module
    raise ConfigError(
        f"Unknown optimizer {name!r}.",
        f"Use one of {', '.join(OPTIMIZERS)}, or a dotted class path such as torch.optim.RMSprop.",
        field="optimizer_type",
    )


def _accepts(cls: type) -> tuple[set[str], bool]:
    params = inspect.signature(cls.__init__).parameters
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return set(params), var_kw


def _as_groups(param_groups: Any) -> list[dict[str, Any]]:
    groups = list(param_groups)
    if groups and not isinstance(groups[0], dict):
        return [{"params": groups}]
    return [dict(g) for g in groups]


def build_optimizer(
    name: str,
    param_groups: Iterable[Any],
    lr: float,
    weight_decay: float | None = None,
    betas: tuple[float, ...] | None = None,
    eps: float | None = None,
    args: dict[str, Any] | list[str] | str | None = None,
) -> torch.optim.Optimizer:
    """The optimizer ``name`` over ``param_groups`` (dicts with their own ``lr``, or plain parameters).

    Names are case-insensitive (see :data:`OPTIMIZERS`) or a dotted class path. D-Adaptation and Prodigy
    find their own step size: use ``lr`` = 1.0. Adafactor uses ``lr`` as given
    (``relative_step=False, scale_parameter=False``) unless ``args`` sets ``relative_step=True``, in which
    case it picks its own learning rate and the schedule has no effect. ``weight_decay``, ``betas`` and
    ``eps`` None = the optimizer's own default (torch AdamW: weight decay 0.01), as sd-scripts does.
    """
    cls, kwargs, module = _resolve(name)
    kwargs["lr"] = lr
    if weight_decay is not None:
        kwargs["weight_decay"] = weight_decay
    if betas is not None:
        kwargs["betas"] = tuple(betas)
    if eps is not None:
        kwargs["eps"] = eps
    kwargs.update(parse_optimizer_args(args))
    if cls.__name__ == "Adafactor" and module.startswith("transformers"):
        kwargs.setdefault("relative_step", False)
        kwargs.setdefault("scale_parameter", False)
        kwargs.setdefault("warmup_init", False)
        if kwargs["relative_step"]:
            kwargs["lr"] = None  # transformers refuses a manual lr together with relative_step
        if "betas" in kwargs:  # Adafactor has one optional momentum, beta1
            kwargs["beta1"] = kwargs.pop("betas")[0]
    accepted, var_kw = _accepts(cls)
    unknown = sorted(k for k in kwargs if k not in accepted)
    # pytorch-optimizer classes swallow unknown names in **kwargs and ignore them; a typo must not pass
    # silently there. Only a class the user names by path may rely on its **kwargs.
    if unknown and not (var_kw and "." in name):
        raise ConfigError(
            f"The optimizer {name} does not take {', '.join(unknown)}.",
            f"Remove {', '.join(unknown)} from the optimizer settings (it accepts: "
            f"{', '.join(sorted(accepted - {'self', 'params'}))}).",
            field="optimizer_args",
        )
    groups = _as_groups(param_groups)
    if _fusable(cls, module, kwargs, groups):
        kwargs["fused"] = True  # torch's fused AdamW kernel: one launch per step instead of one per tensor
    try:
        return cls(groups, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"The optimizer {name} rejected its settings: {exc}", "Check learning_rate and optimizer_args."
        ) from None


def _fusable(cls: type, module: str, kwargs: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
    """torch's Adam/AdamW when optimizer_args leaves ``fused`` and ``foreach`` unset, on a CUDA GPU (faster) or
    with half-precision LoRA weights (full_fp16/full_bf16) anywhere: the fused step does its arithmetic in fp32,
    where the others add eps = 1e-8 in fp16 (where it is 0) and divide 0 by 0 on a weight with no gradient yet."""
    if module != "torch.optim" or cls.__name__ not in ("AdamW", "Adam") or {"fused", "foreach"} & set(kwargs):
        return False
    params = [p for g in groups for p in g["params"]]
    if not params or not all(p.is_floating_point() for p in params):
        return False
    return all(p.is_cuda for p in params) or any(p.dtype in (torch.float16, torch.bfloat16) for p in params)


def loraplus_groups(
    named_params: Iterable[tuple[str, torch.nn.Parameter]],
    lr: float,
    loraplus_lr_ratio: float | None = None,
    name: str = "",
) -> list[dict[str, Any]]:
    """Split LoRA parameters into the A group (``lr``) and the B group (``lr × loraplus_lr_ratio``).

    Hayou et al. 2024, "LoRA+: Efficient Low Rank Adaptation of Large Models": the B ("up") matrices learn
    better with a larger learning rate than the A ("down") ones; the paper suggests a ratio of about 16.
    B parameters are those named ``lora_up`` (kohya) or ``lora_B`` (peft). Without a ratio there is one
    group. Frozen parameters are left out; empty groups are dropped. Each group carries a ``name`` for logs.
    """
    params = [(n, p) for n, p in named_params if p.requires_grad]
    if not loraplus_lr_ratio:
        return [{"params": [p for _, p in params], "lr": lr, "name": name or "default"}] if params else []
    if loraplus_lr_ratio <= 0:
        raise ConfigError(
            f"loraplus_lr_ratio is {loraplus_lr_ratio}.", "Use a ratio above 0 (16 is the paper's suggestion)."
        )
    is_b = [("lora_up" in n or "lora_B" in n) for n, _ in params]
    base = [p for (_, p), b in zip(params, is_b, strict=True) if not b]
    plus = [p for (_, p), b in zip(params, is_b, strict=True) if b]
    groups = [
        {"params": base, "lr": lr, "name": name or "default"},
        {"params": plus, "lr": lr * loraplus_lr_ratio, "name": f"{name}_plus" if name else "plus"},
    ]
    return [g for g in groups if g["params"]]


def is_schedule_free(optimizer: Any) -> bool:
    """True for schedule-free optimizers, which need :func:`optimizer_mode` calls and a constant schedule."""
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate wraps the optimizer
    return "schedulefree" in type(inner).__name__.lower()


def optimizer_mode(optimizer: Any, training: bool) -> None:
    """Put a schedule-free optimizer's weights in training (``train()``) or evaluation (``eval()``) form.

    Defazio et al. 2024, "The Road Less Scheduled": the parameters used for gradients differ from the
    averaged ones to evaluate, sample and save, so switch to eval before those and back to train after.
    """
    if not is_schedule_free(optimizer):
        return
    inner = getattr(optimizer, "optimizer", optimizer)
    (inner.train if training else inner.eval)()


def cannot_run_here(name: str) -> ConfigError | None:
    """Why the optimizer ``name`` cannot run on this machine (a package missing, no CUDA GPU for bitsandbytes),
    or None. Imports nothing heavy beyond torch: validation asks this before a run, so a config that is fine
    on paper but fails 12 s into training on this machine is refused up front."""
    from importlib.util import find_spec

    key = name.strip().lower().replace("-", "").replace("_", "")
    if key not in _REGISTRY:
        return None  # a dotted class path: checked when it is imported
    module = _REGISTRY[key][0]
    package = module.split(".")[0]
    if module.startswith("bitsandbytes"):
        if not torch.cuda.is_available():
            return ConfigError(
                f"The optimizer {name} needs an NVIDIA GPU with bitsandbytes, and this machine has no CUDA GPU.",
                'Set optimizer.optimizer_type = "AdamW" to train here (the same optimizer in 32-bit, more'
                " memory), or train on a machine with an NVIDIA GPU.",
                field="optimizer.optimizer_type",
            )
        if find_spec(package) is None:
            return ConfigError(
                f"The optimizer {name} needs bitsandbytes, which is not installed.",
                "pip install 'lorakit[gpu]' (or pip install bitsandbytes), or set optimizer.optimizer_type ="
                ' "AdamW".',
                field="optimizer.optimizer_type",
            )
        return None
    if find_spec(package) is None:
        return ConfigError(
            f"The optimizer {name} needs {package}, which is not installed.",
            _INSTALL.get(module, f"Install {package}.") + ', or set optimizer.optimizer_type = "AdamW".',
            field="optimizer.optimizer_type",
        )
    return None
