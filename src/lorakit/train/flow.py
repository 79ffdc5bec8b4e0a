"""Flow matching (rectified flow) for Flux: the noise levels, the noisy input, the target, and one step.

The formulas are sd-scripts' (``library/flux_train_utils.py``: ``get_noisy_model_input_and_timesteps`` and
``apply_model_prediction_type``; ``flux_train_network.py`` for the target):

- a noise level t in [0, 1] per image, by ``timestep_sampling``:
  ``uniform``: t ~ U(0, 1); ``sigmoid``: t = sigmoid(sigmoid_scale · z), z ~ N(0, 1);
  ``shift``: t = sigmoid(sigmoid_scale · z), then t' = s·t / (1 + (s − 1)·t) with s = ``discrete_flow_shift``;
  ``flux_shift``: t = sigmoid(sigmoid_scale · z), then t' = e^μ / (e^μ + 1/t − 1) with μ linear in the
  number of packed latent tokens n = (h/2)(w/2): μ = 0.5 at 256 tokens, 1.15 at 4096 (the resolution-dependent
  shift of Flux's own sampler);
  ``sigma``: an index i uniform in 0..999 of the FlowMatchEulerDiscreteScheduler(shift = discrete_flow_shift)
  schedule, σ = shift((1000 − i) / 1000).
- the noisy input x_t = (1 − t)·x₀ + t·ε and the target ε − x₀ (the velocity);
- the prediction: ``raw`` the model output; ``additive`` output + x_t; ``sigma_scaled`` −t·output + x_t (sd-scripts
  keeps the target ε − x₀ for all three, and weights the loss 1 for the default "none" weighting scheme).

Each image draws its noise and t from its own generator (as the SD step), so resume and batching do not
change what an image sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lorakit.errors import ConfigError
from lorakit.train.loss import per_sample_loss, prior_weights
from lorakit.train.noise import make_noise

TIMESTEP_SAMPLING = ("sigma", "uniform", "sigmoid", "shift", "flux_shift")
MODEL_PREDICTION = ("raw", "additive", "sigma_scaled")
NUM_TRAIN_TIMESTEPS = 1000
# Flux's resolution-dependent shift: μ = 0.5 at 256 image tokens (256²), 1.15 at 4096 (1024²).
BASE_SEQ, MAX_SEQ, BASE_SHIFT, MAX_SHIFT = 256, 4096, 0.5, 1.15


def shift_sigma(t: torch.Tensor, shift: float) -> torch.Tensor:
    """sd-scripts' / SD3's discrete flow shift: ``s·t / (1 + (s − 1)·t)``."""
    return (t * shift) / (1 + (shift - 1) * t)


def flux_mu(tokens: int) -> float:
    """μ of Flux's time shift for ``tokens`` packed latent tokens (linear through (256, 0.5) and (4096, 1.15))."""
    m = (MAX_SHIFT - BASE_SHIFT) / (MAX_SEQ - BASE_SEQ)
    return m * tokens + (BASE_SHIFT - m * BASE_SEQ)


def time_shift(mu: float, t: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """``e^μ / (e^μ + (1/t − 1)^σ)`` (Flux's sampler, sd-scripts' flux_shift)."""
    return math.exp(mu) / (math.exp(mu) + (1 / t - 1) ** sigma)


def sample_t(
    sampling: str,
    generator: torch.Generator | None,
    *,
    batch: int = 1,
    sigmoid_scale: float = 1.0,
    shift: float = 3.0,
    latent_hw: tuple[int, int] = (128, 128),
) -> torch.Tensor:
    """``batch`` noise levels t in [0, 1] (float32, on the generator's device) by ``sampling``."""
    device = generator.device if generator is not None else "cpu"
    if sampling == "uniform":
        return torch.rand(batch, generator=generator, device=device)
    if sampling in ("sigmoid", "shift", "flux_shift"):
        t = torch.sigmoid(sigmoid_scale * torch.randn(batch, generator=generator, device=device))
        if sampling == "shift":
            return shift_sigma(t, shift)
        if sampling == "flux_shift":
            h, w = latent_hw
            return time_shift(flux_mu((h // 2) * (w // 2)), t)
        return t
    if sampling == "sigma":
        index = (torch.rand(batch, generator=generator, device=device) * NUM_TRAIN_TIMESTEPS).long()
        return shift_sigma((NUM_TRAIN_TIMESTEPS - index).float() / NUM_TRAIN_TIMESTEPS, shift)
    raise ConfigError(
        f"Unknown timestep sampling {sampling!r}.",
        f"Use one of: {', '.join(TIMESTEP_SAMPLING)} ('shift' with discrete_flow_shift 3.1582 is common for Flux).",
        field="timestep_sampling",
    )


def noisy_input(latents: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 − t)·x₀ + t·ε, one t per image."""
    t = t.view(-1, *([1] * (latents.ndim - 1))).to(latents.device, latents.dtype)
    return (1 - t) * latents + t * noise


def apply_prediction_type(kind: str, output: torch.Tensor, noisy: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The prediction compared with ε − x₀: raw, additive (+ x_t) or sigma_scaled (−t·output + x_t)."""
    if kind == "raw":
        return output
    if kind == "additive":
        return output + noisy
    if kind == "sigma_scaled":
        return output * (-t.view(-1, *([1] * (output.ndim - 1))).to(output.dtype)) + noisy
    raise ConfigError(
        f"Unknown model prediction type {kind!r}.",
        f"Use one of: {', '.join(MODEL_PREDICTION)} ('raw' is the usual choice for Flux LoRAs).",
        field="model_prediction_type",
    )


def flow_training_step(family, batch, opts, generator, backward: Callable[[torch.Tensor], None]) -> torch.Tensor:
    """One flow-matching step on ``batch`` (see :func:`lorakit.train.step.training_step`, which calls this)."""
    from lorakit.train.precision import input_dtype
    from lorakit.train.step import encode_batch

    model = family.components.unet
    device, dtype = model.device, input_dtype(model)
    latents, cond = encode_batch(family, batch, opts)

    generators = generator if isinstance(generator, list) else [generator]
    parts = list(latents.split(1)) if isinstance(generator, list) else [latents]
    if len(parts) != len(generators):
        raise ValueError(f"{len(generators)} generators for a batch of {latents.shape[0]} images")
    noises, ts = [], []
    for part, gen in zip(parts, generators, strict=True):
        noises.append(
            make_noise(part, gen, opts.noise_offset, opts.noise_offset_random_strength, opts.adaptive_noise_scale)
        )
        ts.append(
            sample_t(
                opts.timestep_sampling,
                gen,
                batch=part.shape[0],
                sigmoid_scale=opts.sigmoid_scale,
                shift=opts.discrete_flow_shift,
                latent_hw=tuple(part.shape[-2:]),
            )
        )
    noise = torch.cat(noises).to(device, dtype)
    t = torch.cat(ts).to(device)
    noisy = noisy_input(latents, noise, t)
    output = family.predict(noisy, t, cond)
    pred = apply_prediction_type(opts.model_prediction_type, output, noisy, t)
    target = noise - latents
    huber_c = opts.huber_c if opts.loss_type in ("huber", "smooth_l1") else None
    masks = batch.masks.to(device) if batch.masks is not None else None
    per_image = per_sample_loss(pred, target, opts.loss_type, huber_c, masks)
    loss = (per_image * prior_weights(batch.is_reg, opts.prior_loss_weight).to(per_image.device)).mean()
    backward(loss)
    return loss.detach()
