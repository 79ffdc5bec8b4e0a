"""Noise, timesteps and SNR against the formulas in their papers."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDPMScheduler

from lorakit.errors import ConfigError
from lorakit.train.noise import (
    apply_zero_terminal_snr,
    compute_snr,
    make_noise,
    multires_noise,
    offset_noise,
    perturb_noise,
    sample_timesteps,
    zero_terminal_snr_betas,
)


def sd_scheduler() -> DDPMScheduler:
    # The SD 1.x/2.x/SDXL training schedule.
    return DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_plain_noise_is_standard_gaussian_and_seeded():
    latents = torch.zeros(8, 4, 32, 32)
    a = make_noise(latents, gen(1))
    b = make_noise(latents, gen(1))
    c = make_noise(latents, gen(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert abs(a.mean().item()) < 0.02 and abs(a.std().item() - 1) < 0.02


def test_offset_noise_adds_one_constant_per_image_and_channel():
    latents = torch.zeros(2, 4, 8, 8)
    base = torch.zeros(2, 4, 8, 8)
    out = offset_noise(latents, base, 0.1, generator=gen(3))
    # Each (image, channel) plane is a constant 0.1·z with z ~ N(0,1), drawn from the same generator.
    z = torch.randn(2, 4, 1, 1, generator=gen(3))
    assert torch.allclose(out, (0.1 * z).expand(2, 4, 8, 8), atol=1e-6)


def test_offset_noise_statistics_match_offset_variance():
    latents = torch.zeros(4096, 4, 4, 4)
    noise = make_noise(latents, gen(0), noise_offset=0.5)
    # Var(ε + 0.5·z) = 1 + 0.25; the per-plane means vary with std 0.5.
    assert abs(noise.var().item() - 1.25) < 0.03
    assert abs(noise.mean(dim=(2, 3)).std().item() - 0.5) < 0.05 * 2


def test_adaptive_noise_scale_grows_offset_with_channel_mean():
    latents = torch.full((1, 1, 4, 4), -2.0)
    base = torch.zeros(1, 1, 4, 4)
    out = offset_noise(latents, base, 0.1, adaptive_noise_scale=0.05, generator=gen(4))
    z = torch.randn(1, 1, 1, 1, generator=gen(4))
    assert torch.allclose(out, ((0.1 + 0.05 * 2.0) * z).expand(1, 1, 4, 4), atol=1e-6)


def test_random_strength_offset_draws_strength_uniformly_below_offset():
    latents = torch.zeros(2, 4, 8, 8)
    noisy = make_noise(latents, gen(12), noise_offset=0.1, noise_offset_random_strength=True)
    g = gen(12)
    eps = torch.randn(2, 4, 8, 8, generator=g)
    strength = torch.rand(1, generator=g) * 0.1
    shift = torch.randn(2, 4, 1, 1, generator=g)
    assert 0 <= strength.item() < 0.1
    # Another order of the same products: equal up to rounding, so a tolerance (a wrong draw is ~0.1 off).
    assert torch.allclose(noisy, eps + strength * shift, atol=1e-6)


@pytest.mark.parametrize(("discount", "min_ratio"), [(0.3, 1.2), (0.8, 5.0)])
def test_multires_noise_has_unit_std_and_more_low_frequency_energy(discount, min_ratio):
    noise = torch.randn(16, 4, 64, 64, generator=gen(5))
    pyramid = multires_noise(noise.clone(), iterations=6, discount=discount, generator=gen(6))
    assert pyramid.shape == noise.shape
    assert abs(pyramid.std().item() - 1.0) < 1e-4  # renormalised by its std
    # Low-frequency energy: the variance of 8×8 block means is far higher than for white noise (1/64).
    white = torch.nn.functional.avg_pool2d(noise, 8).var().item()
    low = torch.nn.functional.avg_pool2d(pyramid, 8).var().item()
    assert white == pytest.approx(1 / 64, rel=0.15)
    assert low > min_ratio * white


def test_multires_noise_one_iteration_is_two_full_size_draws():
    # i = 0 → size h/r⁰ = h, weight discount⁰ = 1: the result is (ε + ε')/std.
    noise = torch.randn(2, 4, 16, 16, generator=gen(7))
    g = gen(8)
    given = noise.clone()
    out = multires_noise(given, iterations=1, discount=0.5, generator=g)
    assert torch.equal(given, noise)  # the input is not changed in place
    g2 = gen(8)
    torch.rand(1, generator=g2)  # the scale factor r
    extra = torch.randn(2, 4, 16, 16, generator=g2)
    expected = noise + extra
    assert torch.allclose(out, expected / expected.std(), atol=1e-5)


def test_make_noise_keeps_dtype():
    latents = torch.zeros(2, 4, 8, 8, dtype=torch.bfloat16)
    out = make_noise(latents, gen(0), noise_offset=0.05, multires_iterations=4)
    assert out.dtype == torch.bfloat16


def test_input_perturbation_adds_gamma_scaled_fresh_noise():
    noise = torch.randn(4, 4, 8, 8, generator=gen(9))
    out = perturb_noise(noise, 0.1, generator=gen(10))
    assert torch.allclose(out, noise + 0.1 * torch.randn(4, 4, 8, 8, generator=gen(10)), atol=1e-6)
    assert perturb_noise(noise, 0.0) is noise
    rnd = perturb_noise(noise, 0.1, random_strength=True, generator=gen(11))
    g = gen(11)
    s = torch.rand(1, generator=g)
    assert torch.allclose(rnd, noise + s * 0.1 * torch.randn(4, 4, 8, 8, generator=g), atol=1e-6)


@pytest.mark.parametrize(
    ("low", "high", "expect_low", "expect_high"),
    [(None, None, 0, 999), (100, 300, 100, 299), (500, 500, 500, 500), (1000, 1000, 999, 999)],
)
def test_sample_timesteps_range(low, high, expect_low, expect_high):
    t = sample_timesteps(4000, 1000, low, high, generator=gen(0))
    assert t.dtype == torch.long and t.shape == (4000,)
    assert t.min().item() == expect_low and t.max().item() == expect_high


@pytest.mark.parametrize(("low", "high"), [(500, 100), (-1, 10), (0, 1001)])
def test_sample_timesteps_rejects_bad_range(low, high):
    with pytest.raises(ConfigError):
        sample_timesteps(2, 1000, low, high)


def test_zero_terminal_snr_algorithm_1():
    sched = sd_scheduler()
    old = sched.alphas_cumprod.clone()
    betas = zero_terminal_snr_betas(sched.betas)
    new = torch.cumprod(1 - betas.double(), 0)
    assert new[-1].item() == pytest.approx(0.0, abs=1e-12)
    assert new[0].item() == pytest.approx(old[0].item(), rel=1e-6)
    # √ᾱ is an affine map of the old √ᾱ (shift then scale), so it stays monotone decreasing.
    s_old, s_new = old.double().sqrt(), new.sqrt()
    expected = (s_old - s_old[-1]) * s_old[0] / (s_old[0] - s_old[-1])
    assert torch.allclose(s_new, expected, atol=1e-6)
    apply_zero_terminal_snr(sched)
    assert sched.alphas_cumprod[-1].item() == pytest.approx(0.0, abs=1e-7)
    assert compute_snr(sched.alphas_cumprod, torch.tensor([999]))[0].item() == pytest.approx(0.0, abs=1e-6)


def test_compute_snr_matches_definition():
    sched = sd_scheduler()
    t = torch.tensor([0, 10, 500, 999])
    ac = sched.alphas_cumprod[t].double()
    expected = (ac.sqrt() / (1 - ac).sqrt()) ** 2
    assert torch.allclose(compute_snr(sched.alphas_cumprod, t).double(), expected, rtol=1e-5)
    snr = compute_snr(sched.alphas_cumprod, torch.arange(1000))
    assert torch.all(snr[1:] < snr[:-1])  # noise grows with t
