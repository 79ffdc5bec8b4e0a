"""The noise side of a training step: which noise is added, at which timesteps, and the SNR it gives.

Public functions (the training step calls these; names and arguments are stable):

- ``make_noise(latents, generator=None, noise_offset=0.0, noise_offset_random_strength=False,
  adaptive_noise_scale=None, multires_iterations=0, multires_discount=0.3) -> Tensor``
- ``perturb_noise(noise, gamma, random_strength=False, generator=None) -> Tensor``
- ``sample_timesteps(batch, num_train_timesteps, min_timestep=None, max_timestep=None, generator=None,
  device=None) -> LongTensor``
- ``zero_terminal_snr_betas(betas) -> Tensor`` and ``apply_zero_terminal_snr(scheduler) -> scheduler``
- ``compute_snr(alphas_cumprod, timesteps) -> Tensor``

Every random draw goes through the ``generator`` passed in (a ``torch.Generator``), so a step is
reproducible from the seed and a resumed run draws the same noise as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lorakit.errors import ConfigError


def _randn(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    # Draw on the generator's device (a CPU generator cannot fill a CUDA tensor), in float32 so the
    # statistics do not depend on the training dtype, then move to where the latents live.
    device = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, device=device, dtype=torch.float32).to(like.device)


def _rand(generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    device = generator.device if generator is not None else like.device
    return torch.rand(1, generator=generator, device=device, dtype=torch.float32).to(like.device)


def offset_noise(
    latents: torch.Tensor,
    noise: torch.Tensor,
    noise_offset: float | torch.Tensor,
    adaptive_noise_scale: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add one random constant per image and channel to ``noise`` (offset noise).

    Crosslabs, "Diffusion with Offset Noise" (2023): plain Gaussian noise never changes an image's mean
    colour, so a model cannot learn very dark or very bright images; a per-channel constant shift fixes
    that. ``noise + offset * N(0, 1)[b, c, 1, 1]``. With ``adaptive_noise_scale`` the offset grows with
    each channel's mean brightness: ``offset + scale * |mean(latents[b, c])|`` (clamped at 0), as sd-scripts.
    """
    offset: Any = noise_offset
    if adaptive_noise_scale is not None:
        latent_mean = latents.float().mean(dim=(2, 3), keepdim=True).abs()
        offset = torch.clamp(offset + adaptive_noise_scale * latent_mean, min=0.0)
    shift = _randn((latents.shape[0], latents.shape[1], 1, 1), generator, latents)
    return noise + offset * shift


def multires_noise(
    noise: torch.Tensor, iterations: int, discount: float = 0.3, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Pyramid (multi-resolution) noise, as sd-scripts implements Whitaker's write-up.

    J. Whitaker, "Multi-Resolution Noise for Diffusion Model Training" (2023). For ``i`` in
    ``0..iterations-1`` a random factor ``r`` in [2, 4) picks a size ``(h, w) / r**i``; Gaussian noise of that
    size is upsampled (bilinear) to full size and added with weight ``discount**i``. The sum is divided
    by its standard deviation so it has roughly unit variance again. The loop stops once a side reaches 1.
    Low-frequency components let the model change large areas (overall colour, composition).
    """
    b, c, h, w = noise.shape
    out = noise.float().clone()  # accumulated in place below; the caller's tensor stays untouched
    for i in range(iterations):
        r = float(_rand(generator, noise)) * 2 + 2
        hn, wn = max(1, int(h / (r**i))), max(1, int(w / (r**i)))
        low = _randn((b, c, hn, wn), generator, noise)
        if (hn, wn) != (h, w):  # i = 0 is already full size: resizing it would be an identity copy
            low = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
        out.add_(low, alpha=discount**i)
        if hn == 1 or wn == 1:
            break
    return out.div_(out.std()).to(noise.dtype)


def make_noise(
    latents: torch.Tensor,
    generator: torch.Generator | None = None,
    noise_offset: float = 0.0,
    noise_offset_random_strength: bool = False,
    adaptive_noise_scale: float | None = None,
    multires_iterations: int = 0,
    multires_discount: float = 0.3,
) -> torch.Tensor:
    """The noise ε for a batch of latents (B, C, H, W): Gaussian, then offset, then pyramid, as sd-scripts.

    ``noise_offset`` (0.02–0.1) lets the LoRA learn very dark/bright images; with
    ``noise_offset_random_strength`` the offset of each step is drawn uniformly from [0, noise_offset).
    ``multires_iterations`` (6–10) with ``multires_discount`` (0.1–0.3) adds low-frequency noise.
    The returned noise is both what is added to the latents and the ε-prediction target.
    """
    noise = _randn(tuple(latents.shape), generator, latents).to(latents.dtype)
    if noise_offset:
        strength: Any = noise_offset
        if noise_offset_random_strength:
            strength = _rand(generator, latents) * noise_offset
        noise = offset_noise(latents, noise, strength, adaptive_noise_scale, generator).to(latents.dtype)
    if multires_iterations:
        noise = multires_noise(noise, multires_iterations, multires_discount, generator)
    return noise


def perturb_noise(
    noise: torch.Tensor, gamma: float, random_strength: bool = False, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Input perturbation: the noise to *add to the latents*, ``ε + γ·ξ`` with fresh ``ξ ~ N(0, 1)``.

    Ning et al. 2023, "Input Perturbation Reduces Exposure Bias in Diffusion Models": training on
    slightly wrong noisy inputs mimics the errors of sampling. The *target* stays the original ``noise``.
    ``gamma`` 0.05–0.1 is typical; with ``random_strength`` γ is drawn uniformly from [0, gamma) per step.
    """
    if not gamma:
        return noise
    strength: Any = gamma
    if random_strength:
        strength = _rand(generator, noise) * gamma
    return noise + strength * _randn(tuple(noise.shape), generator, noise).to(noise.dtype)


def sample_timesteps(
    batch: int,
    num_train_timesteps: int,
    min_timestep: int | None = None,
    max_timestep: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """One timestep per image, uniform in ``[min_timestep, max_timestep)`` (sd-scripts' ``get_timesteps``).

    ``None`` means the full range ``[0, num_train_timesteps)``. If min equals max every image gets that
    timestep (clamped to the last valid index ``num_train_timesteps - 1``).
    """
    low = 0 if min_timestep is None else int(min_timestep)
    high = num_train_timesteps if max_timestep is None else int(max_timestep)
    if not 0 <= low <= high <= num_train_timesteps:
        raise ConfigError(
            f"The timestep range min_timestep={low}, max_timestep={high} is not inside 0..{num_train_timesteps}.",
            f"Use 0 <= min_timestep <= max_timestep <= {num_train_timesteps}, or leave both empty for the full range.",
            field="min_timestep",
        )
    gen_device = generator.device if generator is not None else "cpu"
    if low < high:
        t = torch.randint(low, high, (batch,), generator=generator, device=gen_device)
    else:
        t = torch.full((batch,), min(high, num_train_timesteps - 1), device=gen_device)
    return t.long().to(device if device is not None else gen_device)


def zero_terminal_snr_betas(betas: torch.Tensor) -> torch.Tensor:
    """Rescale a beta schedule so the last timestep has zero SNR (pure noise); the first is unchanged.

    Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed", Algorithm 1: shift
    √ᾱ so its last value is 0, scale it so its first value is the old one, then recover the betas.
    """
    alphas_bar_sqrt = torch.cumprod(1.0 - betas.double(), dim=0).sqrt()
    first, last = alphas_bar_sqrt[0].clone(), alphas_bar_sqrt[-1].clone()
    alphas_bar_sqrt = (alphas_bar_sqrt - last) * (first / (first - last))
    alphas_bar = alphas_bar_sqrt**2
    alphas = torch.cat([alphas_bar[0:1], alphas_bar[1:] / alphas_bar[:-1]])
    return (1.0 - alphas).to(betas.dtype)


def apply_zero_terminal_snr(scheduler: Any) -> Any:
    """Give a diffusers noise scheduler (DDPM, DDIM, Euler, ...) zero-terminal-SNR betas, in place.

    Recomputes ``betas``, ``alphas`` and ``alphas_cumprod`` (ᾱ_T becomes exactly 0, as sd-scripts does for
    training). Use it with v-prediction: an ε-prediction model cannot predict anything at zero SNR.
    """
    betas = zero_terminal_snr_betas(scheduler.betas)
    scheduler.betas = betas
    scheduler.alphas = 1.0 - betas
    scheduler.alphas_cumprod = torch.cumprod(scheduler.alphas, dim=0)
    return scheduler


def compute_snr(alphas_cumprod: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
    """Signal-to-noise ratio at each timestep: SNR(t) = ᾱ_t / (1 − ᾱ_t) = (α_t / σ_t)².

    As diffusers' ``training_utils.compute_snr`` (Hang et al. 2023, min-SNR weighting, eq. 3). Returns
    float32 on the timesteps' device; 0 where ᾱ_t is 0 (zero terminal SNR).
    """
    ac = alphas_cumprod.to(device=timesteps.device, dtype=torch.float32)[timesteps.long()]
    return ac / (1.0 - ac)
