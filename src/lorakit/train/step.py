"""One training step, top to bottom: encode → noise → predict → loss → backward.

Everything model-specific sits behind the family protocol (``encode_images``, ``encode_prompts``,
``predict``, ``prediction_type``); the formulas live in :mod:`lorakit.train.noise` and
:mod:`lorakit.train.loss`. This function has no model-family branches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from lorakit.train.loss import huber_c_for, loss_weights, per_sample_loss, prior_weights, target_for
from lorakit.train.noise import make_noise, perturb_noise, sample_timesteps
from lorakit.train.precision import input_dtype


@dataclass
class Batch:
    """What one step trains on. ``latents``/``conditioning`` are set when they came from a cache."""

    captions: list[str]
    is_reg: list[bool]
    sizes: torch.Tensor  # (B, 6) SDXL size/crop conditioning; ignored by SD1/SD2
    pixels: torch.Tensor | None = None
    latents: torch.Tensor | None = None
    conditioning: dict[str, torch.Tensor] | None = None
    masks: torch.Tensor | None = None  # (B, 1, H, W) alpha masks for masked loss


@dataclass
class StepOptions:
    """The noise and loss settings of a run (sd-scripts names)."""

    clip_skip: int = 1
    max_token_length: int = 75
    train_text_encoder: bool = False
    noise_offset: float = 0.0
    noise_offset_random_strength: bool = False
    adaptive_noise_scale: float | None = None
    multires_noise_iterations: int = 0
    multires_noise_discount: float = 0.3
    ip_noise_gamma: float = 0.0
    ip_noise_gamma_random_strength: bool = False
    min_timestep: int | None = None
    max_timestep: int | None = None
    loss_type: str = "l2"
    huber_schedule: str = "snr"
    huber_c: float = 0.1
    min_snr_gamma: float | None = None
    debiased_estimation_loss: bool = False
    scale_v_pred_loss_like_noise_pred: bool = False
    v_pred_like_loss: float | None = None
    prior_loss_weight: float = 1.0
    weighted_captions: bool = False  # (word:1.3) weights in captions (lorakit.data.weighted_captions)
    # Flux (flow matching, lorakit.train.flow): the model section's fields of these names.
    timestep_sampling: str = "sigma"
    sigmoid_scale: float = 1.0
    discrete_flow_shift: float = 3.0
    model_prediction_type: str = "sigma_scaled"


def encode_captions(family, captions: list[str], opts: StepOptions) -> dict[str, torch.Tensor]:
    """The text conditioning of ``captions``: plain, or with A1111 weights when ``weighted_captions``."""
    if opts.weighted_captions:
        from lorakit.data.weighted_captions import encode_weighted

        return encode_weighted(family, captions, opts.clip_skip, opts.max_token_length)
    return family.encode_prompts(captions, opts.clip_skip, opts.max_token_length)


def encode_batch(family, batch: Batch, opts: StepOptions) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The batch's latents (cached, or encoded by the VAE, which is never trained) and its text conditioning
    (cached, or encoded now, with gradients when the text encoder trains), on the denoiser's device."""
    model = family.components.unet
    device, dtype = model.device, input_dtype(model)
    latents = batch.latents
    if latents is None:
        with torch.no_grad():
            latents = family.encode_images(batch.pixels)
    cond = batch.conditioning
    if cond is None:
        with torch.set_grad_enabled(opts.train_text_encoder):
            cond = encode_captions(family, batch.captions, opts)
    return latents.to(device, dtype), {k: v.to(device) for k, v in cond.items() if v is not None}


def _draw(
    latents: torch.Tensor, generator: torch.Generator, opts: StepOptions, num_train_timesteps: int, device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Noise, timesteps and the perturbed noise to add, for ``latents`` from one generator."""
    noise = make_noise(
        latents,
        generator,
        opts.noise_offset,
        opts.noise_offset_random_strength,
        opts.adaptive_noise_scale,
        opts.multires_noise_iterations,
        opts.multires_noise_discount,
    )
    timesteps = sample_timesteps(
        latents.shape[0], num_train_timesteps, opts.min_timestep, opts.max_timestep, generator, device
    )
    noised_with = perturb_noise(noise, opts.ip_noise_gamma, opts.ip_noise_gamma_random_strength, generator)
    return noise, timesteps, noised_with


def training_step(
    family,
    batch: Batch,
    opts: StepOptions,
    generator: torch.Generator | list[torch.Generator],
    backward: Callable[[torch.Tensor], None],
) -> torch.Tensor:
    """Run one step on ``batch`` and call ``backward(loss)``; returns the loss (detached).

    ``generator`` is one generator for the whole batch, or a list with one per image (the trainer's way).
    """
    if getattr(family, "flow_matching", False):  # Flux: rectified flow, its own noise/target (train/flow.py)
        from lorakit.train.flow import flow_training_step

        return flow_training_step(family, batch, opts, generator, backward)
    scheduler = family.components.noise_scheduler
    unet = family.components.unet
    device = unet.device

    # 1. Encode: images to latents (the VAE is never trained), captions to text conditioning.
    latents, cond = encode_batch(family, batch, opts)

    # 2. Noise: what is added at which timestep (offset/multires/input perturbation per sd-scripts).
    # One generator per image (a list) draws each image's noise and timestep on its own, so how the images
    # are split into batches (or processes) does not change what each one sees.
    per_image = isinstance(generator, list)
    generators = generator if per_image else [generator]
    parts = list(latents.split(1)) if per_image else [latents]
    if len(parts) != len(generators):
        raise ValueError(f"{len(generators)} generators for a batch of {latents.shape[0]} images")
    num_train_timesteps = scheduler.config.num_train_timesteps
    drawn = [_draw(part, gen, opts, num_train_timesteps, device) for part, gen in zip(parts, generators, strict=True)]
    noise = torch.cat([n for n, _, _ in drawn])
    timesteps = torch.cat([t for _, t, _ in drawn])
    noised_with = torch.cat([w for _, _, w in drawn])
    noisy = scheduler.add_noise(latents, noised_with, timesteps)

    # 3. Predict.
    pred = family.predict(noisy, timesteps, cond, batch.sizes)

    # 4. Loss: per image, then the per-image weights (reg images, min-SNR, v-pred scaling, debiasing).
    target = target_for(family.prediction_type, noise, latents, timesteps, scheduler)
    alphas_cumprod = scheduler.alphas_cumprod.to(device)
    huber_c = None
    if opts.loss_type in ("huber", "smooth_l1"):
        huber_c = huber_c_for(opts.huber_schedule, opts.huber_c, timesteps, alphas_cumprod, num_train_timesteps)
    masks = batch.masks.to(device) if batch.masks is not None else None
    per_image = per_sample_loss(pred, target, opts.loss_type, huber_c, masks)
    weights = loss_weights(
        timesteps,
        alphas_cumprod,
        v_prediction=family.prediction_type == "v_prediction",
        min_snr_gamma=opts.min_snr_gamma,
        debiased=opts.debiased_estimation_loss,
        scale_v_pred_loss_like_noise_pred=opts.scale_v_pred_loss_like_noise_pred,
        v_pred_like_loss=opts.v_pred_like_loss,
        sample_weights=prior_weights(batch.is_reg, opts.prior_loss_weight),
    )
    loss = (per_image * weights.to(per_image.device)).mean()

    # 5. Backward (through accelerate, which scales for fp16 and divides for gradient accumulation).
    backward(loss)
    return loss.detach()
