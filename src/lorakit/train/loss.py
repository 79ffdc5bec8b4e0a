"""The loss side of a training step: the target, the per-image loss, and the per-image weights.

Public functions (the training step calls these; names and arguments are stable):

- ``target_for(prediction_type, noise, latents, timesteps, scheduler) -> Tensor``
- ``huber_c_for(huber_schedule, huber_c, timesteps, alphas_cumprod, num_train_timesteps, huber_scale=1.0)
  -> Tensor`` (one c per image; ``None`` for l2/l1 is handled by the caller passing loss_type)
- ``per_sample_loss(pred, target, loss_type="l2", huber_c=None, mask=None, mask_mean=True) -> Tensor (B,)``
- ``pseudo_huber(diff, c, scale_by_c=True) -> Tensor`` (the elementwise huber / smooth_l1 in a stable form)
- ``prior_weights(is_reg, prior_loss_weight) -> Tensor (B,)``
- ``loss_weights(timesteps, alphas_cumprod, v_prediction=False, min_snr_gamma=None, debiased=False,
  scale_v_pred_loss_like_noise_pred=False, v_pred_like_loss=None, sample_weights=None) -> Tensor (B,)``

A step computes ``(per_sample_loss(...) * loss_weights(...)).mean()``. The order and formulas follow
sd-scripts' ``train_network.py`` (loss → mask → mean per image → prior weight → min-SNR → v-pred scale →
v-pred-like → debiased); every one of these is a per-image factor, so they combine into one weight.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lorakit.errors import ConfigError
from lorakit.train.noise import compute_snr

LOSS_TYPES = ("l2", "l1", "huber", "smooth_l1")
HUBER_SCHEDULES = ("constant", "exponential", "snr")
PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")

# sd-scripts caps the SNR at 1000 for the v-prediction scale and debiased weights: SNR(0) is ~1000 for
# the SD schedules and would otherwise be huge for schedules with a cleaner first step.
_SNR_CAP = 1000.0
# Zero-terminal-SNR schedules have SNR(T) = 0; 1/sqrt(0) would be infinite. This floor keeps the
# debiased weight finite (about 31.6) at that one timestep.
_SNR_FLOOR = 1e-3


def _alphas_cumprod(scheduler: Any) -> torch.Tensor:
    if isinstance(scheduler, torch.Tensor):
        return scheduler
    return scheduler.alphas_cumprod


def target_for(
    prediction_type: str, noise: torch.Tensor, latents: torch.Tensor, timesteps: torch.Tensor, scheduler: Any
) -> torch.Tensor:
    """What the model should predict: ε, ``v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀``, or x₀.

    v-prediction from Salimans & Ho 2022, "Progressive Distillation for Fast Sampling of Diffusion
    Models", §4 (v ≡ α_t·ε − σ_t·x with α_t = √ᾱ_t, σ_t = √(1−ᾱ_t)). ``scheduler`` is a diffusers noise
    scheduler or its ``alphas_cumprod`` tensor.
    """
    if prediction_type == "epsilon":
        return noise
    if prediction_type == "sample":
        return latents
    if prediction_type == "v_prediction":
        ac = _alphas_cumprod(scheduler).to(device=latents.device, dtype=torch.float32)[timesteps.long()]
        shape = (-1,) + (1,) * (latents.ndim - 1)
        alpha = ac.sqrt().view(shape)
        sigma = (1.0 - ac).sqrt().view(shape)
        return (alpha * noise.float() - sigma * latents.float()).to(latents.dtype)
    raise ConfigError(
        f"Unknown prediction type {prediction_type!r}.",
        f"Use one of {', '.join(PREDICTION_TYPES)} (v_prediction for SD 2.x 768-v models, epsilon otherwise).",
        field="prediction_type",
    )


def huber_c_for(
    huber_schedule: str,
    huber_c: float,
    timesteps: torch.Tensor,
    alphas_cumprod: torch.Tensor,
    num_train_timesteps: int,
    huber_scale: float = 1.0,
) -> torch.Tensor:
    """The Huber threshold c for each image's timestep (sd-scripts' ``get_huber_threshold_if_needed``).

    From Khrapov et al. 2024, "Improving Diffusion Models's Data-Corruption Resistance using Scheduled
    Pseudo-Huber Loss": ``constant``: c·scale; ``exponential``: scale·exp(ln(c)·t/T), i.e. 1 at t=0 falling
    to c at t=T; ``snr``: (1−c)/(1+σ_t)² + c with σ_t = √((1−ᾱ_t)/ᾱ_t) (no scale, as sd-scripts).
    """
    t = timesteps.long()
    if huber_schedule == "constant":
        return torch.full(t.shape, huber_c * huber_scale, dtype=torch.float32, device=t.device)
    if huber_schedule == "exponential":
        alpha = -math.log(huber_c) / num_train_timesteps
        return torch.exp(-alpha * t.float()) * huber_scale
    if huber_schedule == "snr":
        ac = alphas_cumprod.to(device=t.device, dtype=torch.float32)[t]
        sigmas = ((1.0 - ac) / ac) ** 0.5
        return (1.0 - huber_c) / (1.0 + sigmas) ** 2 + huber_c
    raise ConfigError(
        f"Unknown Huber schedule {huber_schedule!r}.",
        f"Use one of {', '.join(HUBER_SCHEDULES)} (snr is a good default).",
        field="huber_schedule",
    )


def pseudo_huber(diff: torch.Tensor, c: torch.Tensor | float, scale_by_c: bool = True) -> torch.Tensor:
    """Pseudo-Huber of ``diff`` elementwise: ``2c(√(d² + c²) − c)``, or without the leading c (smooth_l1).

    sd-scripts writes it as above, which is ≈ d² near 0 and 2c|d| far away (smooth_l1: 2|d|). That
    form subtracts two nearly equal numbers when |d| ≪ c and loses most of its digits in fp32 and all
    of them in bf16 (√(d²+c²) rounds to c). Multiplying by (√(d²+c²) + c)/(√(d²+c²) + c) gives the
    same value without the subtraction: ``2c·d² / (√(d²+c²) + c)``, accurate to the dtype's precision
    for every d. Computed in the inputs' dtype.
    """
    squared = diff * diff
    value = 2 * squared / (torch.sqrt(squared + c * c) + c)
    return c * value if scale_by_c else value


def _elementwise_loss(pred: torch.Tensor, target: torch.Tensor, loss_type: str, huber_c: Any) -> torch.Tensor:
    if loss_type == "l2":
        return F.mse_loss(pred, target, reduction="none")
    if loss_type == "l1":
        return F.l1_loss(pred, target, reduction="none")
    if loss_type in ("huber", "smooth_l1"):
        if huber_c is None:
            raise ConfigError(f"loss_type {loss_type!r} needs huber_c.", "Set huber_c (0.1 is a good start).")
        c = torch.as_tensor(huber_c, dtype=pred.dtype, device=pred.device)
        if c.ndim == 1:
            c = c.view(-1, *([1] * (pred.ndim - 1)))
        return pseudo_huber(pred - target, c, scale_by_c=loss_type == "huber")
    raise ConfigError(
        f"Unknown loss type {loss_type!r}.",
        f"Use one of {', '.join(LOSS_TYPES)} (l2 is the standard).",
        field="loss_type",
    )


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """An alpha mask (B, H, W) or (B, 1, H, W) with values in [0, 1], area-resized to (B, 1, h, w)."""
    if mask.ndim == 3:
        mask = mask.unsqueeze(1)
    return F.interpolate(mask.float(), size=size, mode="area")


def per_sample_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    loss_type: str = "l2",
    huber_c: float | torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    mask_mean: bool = True,
) -> torch.Tensor:
    """The loss of each image (B,): elementwise l2/l1/huber/smooth_l1, optionally masked, then averaged.

    ``huber_c`` is a float or one value per image (see :func:`huber_c_for`). ``mask`` is an alpha mask in
    [0, 1] at image or latent size; it is area-resized to the latent size and multiplies the loss.
    With ``mask_mean`` (default) the masked loss is averaged over the mask's area, so an image that is
    mostly transparent is not learned more weakly; ``mask_mean=False`` averages over all pixels as
    sd-scripts does.
    """
    loss = _elementwise_loss(pred.float(), target.float(), loss_type, huber_c)
    dims = list(range(1, loss.ndim))
    if mask is None:
        return loss.mean(dim=dims)
    weight = resize_mask(mask, tuple(loss.shape[-2:])).to(loss.device)
    loss = loss * weight
    if not mask_mean:
        return loss.mean(dim=dims)
    # Channels share one mask, so the denominator counts the mask once per channel.
    area = (weight.expand_as(loss)).sum(dim=dims).clamp_min(1e-6)
    return loss.sum(dim=dims) / area


def prior_weights(is_reg: torch.Tensor | list[bool], prior_loss_weight: float = 1.0) -> torch.Tensor:
    """Per-image weights: ``prior_loss_weight`` for regularization images, 1 for training images."""
    reg = torch.as_tensor(is_reg, dtype=torch.bool)
    return torch.where(reg, torch.tensor(float(prior_loss_weight)), torch.tensor(1.0))


def loss_weights(
    timesteps: torch.Tensor,
    alphas_cumprod: torch.Tensor,
    v_prediction: bool = False,
    min_snr_gamma: float | None = None,
    debiased: bool = False,
    scale_v_pred_loss_like_noise_pred: bool = False,
    v_pred_like_loss: float | None = None,
    sample_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """One multiplier per image (B,) for the per-image loss: timestep weighting times prior weights.

    - min-SNR-γ (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting Strategy", eq. 11
      and §3.4): min(SNR, γ)/SNR for ε-prediction, min(SNR, γ)/(SNR+1) for v-prediction. γ = 5 is the
      paper's choice. Written as min(γ/SNR, 1) so SNR = 0 (zero terminal SNR) gives 1, not 0/0.
    - scale_v_pred_loss_like_noise_pred: × SNR/(SNR+1), SNR capped at 1000 (sd-scripts): a v-loss
      becomes the ε-loss it equals up to that factor.
    - v_pred_like_loss (sd-scripts): loss + v·loss/(SNR/(SNR+1)), i.e. × (1 + v·(SNR+1)/SNR).
    - debiased estimation (Yu et al. 2023, "Debias the Training of Diffusion Models", as sd-scripts):
      × 1/√SNR for ε-prediction, × 1/(SNR+1) for v-prediction, SNR capped at 1000.
    ``sample_weights`` (e.g. :func:`prior_weights`) multiply in first.
    """
    snr = compute_snr(alphas_cumprod, timesteps)
    weight = torch.ones_like(snr)
    if sample_weights is not None:
        weight = weight * sample_weights.to(device=snr.device, dtype=torch.float32)
    if min_snr_gamma:
        min_snr = torch.clamp(min_snr_gamma / snr, max=1.0)
        weight = weight * (min_snr * snr / (snr + 1.0) if v_prediction else min_snr)
    capped = torch.clamp(snr, min=_SNR_FLOOR, max=_SNR_CAP)
    v_scale = capped / (capped + 1.0)
    if scale_v_pred_loss_like_noise_pred:
        weight = weight * v_scale
    if v_pred_like_loss:
        weight = weight * (1.0 + v_pred_like_loss / v_scale)
    if debiased:
        weight = weight * (1.0 / (capped + 1.0) if v_prediction else 1.0 / capped.sqrt())
    return weight
