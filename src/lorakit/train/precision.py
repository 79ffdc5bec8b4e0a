"""The number formats of a run, from the ``memory`` settings, and what applies them.

``memory.mixed_precision`` ("no", "fp16", "bf16") sets two things, on a GPU and on a CPU alike:

- the frozen base weights are stored in that format (half the memory of fp32);
- the UNet and the text encoders compute under ``torch.autocast`` in that format, while the LoRA weights
  stay fp32 (stable updates) unless ``full_fp16`` / ``full_bf16`` asks for them in half precision too.

fp16 needs loss scaling, or small gradients underflow to zero: :class:`LossScaler` is torch's
``GradScaler`` (the loss is multiplied before backward; the gradients are divided back before clipping and
the step, and a step whose gradients overflowed is skipped while the scale shrinks). With ``full_fp16``
the LoRA's own gradients are fp16, which torch's scaler refuses to unscale; sd-scripts patches accelerate
to allow it, and :class:`LossScaler` does the same.

``no_half_vae`` keeps the VAE in fp32 (SDXL's VAE overflows in fp16). ``fp8_base`` stores the UNet's
Linear and Conv weights in float8 (e4m3), cast up to the compute format op by op by autocast: about half
the UNet's memory again, on GPUs with fp8 support (compute capability 8.9 and newer: Ada, Hopper).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch

from lorakit.errors import ConfigError

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "no": torch.float32}
FP8 = torch.float8_e4m3fn
FP8_CAPABILITY = (8, 9)  # Ada Lovelace (RTX 40xx, L4, L40) and newer


@dataclass(frozen=True)
class Precision:
    """What each part of the model is stored and computed in."""

    mixed: str  # "no", "fp16" or "bf16"
    base: torch.dtype  # frozen weights (text encoders, and the UNet's small weights when fp8_base)
    vae: torch.dtype
    lora: torch.dtype  # the trained LoRA weights
    fp8_base: bool = False

    @property
    def compute(self) -> torch.dtype | None:
        """The autocast format, or None (fp32 throughout)."""
        return None if self.mixed == "no" else DTYPES[self.mixed]

    @property
    def mixed_precision(self) -> str:
        """The same as ``mixed`` (the name accelerate and the output helpers read)."""
        return self.mixed

    @property
    def scaled(self) -> bool:
        """fp16 computes need loss scaling."""
        return self.mixed == "fp16"


def precision_for(cfg) -> Precision:
    mem = cfg.memory
    mixed = str(mem.mixed_precision)
    base = DTYPES.get(mixed, torch.float32)
    full = mem.full_bf16 or mem.full_fp16
    return Precision(
        mixed=mixed,
        base=base,
        vae=torch.float32 if mem.no_half_vae else base,
        lora=base if full else torch.float32,
        fp8_base=bool(mem.fp8_base),
    )


def fp8_refusal(device: torch.device) -> str | None:
    """Why fp8 base weights cannot run on ``device``, or None."""
    if device.type != "cuda":
        return f"fp8 base weights need an NVIDIA GPU with fp8 support, and this run is on the {device.type.upper()}"
    capability = torch.cuda.get_device_capability(device)
    if capability < FP8_CAPABILITY:
        name = torch.cuda.get_device_name(device)
        return (
            f"fp8 base weights need an NVIDIA GPU of compute capability 8.9 or newer (Ada, Hopper); {name} has"
            f" {capability[0]}.{capability[1]}"
        )
    return None


def precision_problem(cfg, device: torch.device) -> ConfigError | None:
    """Why this machine (``device``) cannot honour the precision settings, or None."""
    mem = cfg.memory
    if not mem.fp8_base:
        return None
    if str(mem.mixed_precision) == "no":
        return ConfigError(
            "memory.fp8_base needs mixed precision: fp8 weights are cast up to fp16 or bf16 for each operation.",
            "Set memory.mixed_precision = 'bf16' (or 'fp16'), or turn off fp8_base.",
            field="memory.fp8_base",
        )
    why = fp8_refusal(device)
    if why is not None:
        return ConfigError(
            f"memory.fp8_base is on, but {why}.",
            "Turn off memory.fp8_base (bf16 base weights, the default, need about twice the UNet's memory), or"
            " train on an RTX 40xx / L4 / L40 / H100-class GPU.",
            field="memory.fp8_base",
        )
    return None


def check_precision(cfg, device: torch.device) -> None:
    """Refuse the precision settings this machine cannot honour, before the model loads."""
    problem = precision_problem(cfg, device)
    if problem is not None:
        raise problem


def store_fp8(module: torch.nn.Module) -> int:
    """Store the weights of every Linear and Conv of ``module`` in float8 e4m3 (biases, norms and embeddings
    keep their format, and the LoRA's layers are left alone); returns the number of weights converted. The
    module must run under autocast, which casts each fp8 weight up to the compute format when it is used."""
    converted = 0
    for name, layer in module.named_modules():
        if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)) and "lora_" not in name:  # (never the LoRA's)
            layer.weight.data = layer.weight.data.to(FP8)
            converted += 1
    return converted


def input_dtype(module: torch.nn.Module) -> torch.dtype:
    """The format to give ``module`` its inputs in: its weights' (diffusers' ``module.dtype``), or with fp8-stored
    weights the format its other weights are kept in (an fp8 input would lose nearly all its precision)."""
    dtype = getattr(module, "dtype", None)
    if dtype is not None and dtype != FP8:
        return dtype
    for param in module.parameters():
        if param.is_floating_point() and param.dtype != FP8:
            return param.dtype
    return torch.float32


def autocast_forward(module: torch.nn.Module, device_type: str, dtype: torch.dtype) -> None:
    """Make ``module`` compute under autocast in ``dtype`` (its forward is wrapped, once)."""
    if getattr(module, "_lorakit_autocast", None) == dtype:
        return
    module.forward = torch.autocast(device_type, dtype=dtype)(module.forward)
    module._lorakit_autocast = dtype


@contextmanager
def vae_in_own_format(vae: torch.nn.Module):
    """Within the block the VAE decodes latents of any format in its own (diffusers' SD1/SD2 pipelines hand it
    the UNet's bf16/fp16 latents as they are, which an fp32 VAE, no_half_vae, cannot take)."""
    original = vae.decode

    def decode(latents, *args, **kwargs):
        return original(latents.to(vae.dtype), *args, **kwargs)

    vae.decode = decode
    try:
        yield vae
    finally:
        del vae.decode  # the class's method again


class LossScaler:
    """fp16 loss scaling around the loop's backward, clip and step (torch's ``GradScaler``, also for fp16
    LoRA weights). Every call is a no-op when ``enabled`` is False, so the loop has one code path."""

    def __init__(self, device_type: str, enabled: bool):
        self.enabled = enabled
        self.scaler = _Fp16GradScaler(device_type) if enabled else None

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        return self.scaler.scale(loss) if self.scaler is not None else loss

    def unscale(self, optimizer) -> None:
        if self.scaler is not None and _has_gradients(optimizer):
            self.scaler.unscale_(optimizer)

    def step(self, optimizer) -> bool:
        """Step ``optimizer`` unless the gradients overflowed; returns whether it stepped."""
        if self.scaler is None or not _has_gradients(optimizer):
            optimizer.step()  # (no gradients at all: nothing to scale, and GradScaler would refuse the step)
            return True
        before = self.scaler.get_scale()
        self.scaler.step(optimizer)
        self.scaler.update()
        return self.scaler.get_scale() >= before  # the scale shrinks exactly when the step was skipped

    @property
    def scale_value(self) -> float | None:
        return self.scaler.get_scale() if self.scaler is not None else None

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


def _has_gradients(optimizer) -> bool:
    return any(p.grad is not None for group in optimizer.param_groups for p in group["params"])


class _Fp16GradScaler(torch.amp.GradScaler):
    """torch's GradScaler, allowed to unscale fp16 gradients (full_fp16: the LoRA weights are fp16 too)."""

    def _unscale_grads_(self, optimizer, inv_scale, found_inf, allow_fp16):
        return super()._unscale_grads_(optimizer, inv_scale, found_inf, True)
