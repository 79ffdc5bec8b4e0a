"""Targets, losses and loss weights against their formulas."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDPMScheduler

from lorakit.errors import ConfigError
from lorakit.train.loss import (
    huber_c_for,
    loss_weights,
    per_sample_loss,
    prior_weights,
    pseudo_huber,
    target_for,
)


@pytest.fixture(scope="module")
def sched() -> DDPMScheduler:
    return DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


def ac_for_snr(snrs: list[float]) -> torch.Tensor:
    """alphas_cumprod giving chosen SNRs at timesteps 0..n-1: ᾱ = SNR / (1 + SNR)."""
    s = torch.tensor(snrs, dtype=torch.float64)
    return (s / (1 + s)).float()


def test_v_target_matches_salimans_ho_and_diffusers(sched):
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 4, 8, 8, generator=g), torch.randn(3, 4, 8, 8, generator=g)
    t = torch.tensor([0, 400, 999])
    v = target_for("v_prediction", eps, x0, t, sched)
    ac = sched.alphas_cumprod[t].view(-1, 1, 1, 1)
    assert torch.allclose(v, ac.sqrt() * eps - (1 - ac).sqrt() * x0, atol=1e-6)
    assert torch.allclose(v, sched.get_velocity(x0, eps, t), atol=1e-5)
    assert target_for("epsilon", eps, x0, t, sched) is eps
    assert target_for("sample", eps, x0, t, sched.alphas_cumprod) is x0
    with pytest.raises(ConfigError):
        target_for("flow", eps, x0, t, sched)


# SNR, γ, expected ε weight min(SNR,γ)/SNR, expected v weight min(SNR,γ)/(SNR+1)
MIN_SNR_CASES = [
    (1.0, 5.0, 1.0, 0.5),
    (4.0, 5.0, 1.0, 0.8),
    (10.0, 5.0, 0.5, 5 / 11),
    (100.0, 5.0, 0.05, 5 / 101),
    (0.25, 1.0, 1.0, 0.2),
    (0.0, 5.0, 1.0, 0.0),  # zero terminal SNR: the ε weight stays finite
]


@pytest.mark.parametrize(("snr", "gamma", "eps_weight", "v_weight"), MIN_SNR_CASES)
def test_min_snr_gamma_weights(snr, gamma, eps_weight, v_weight):
    ac = ac_for_snr([snr])
    t = torch.tensor([0])
    assert loss_weights(t, ac, min_snr_gamma=gamma).item() == pytest.approx(eps_weight, rel=1e-5, abs=1e-7)
    assert loss_weights(t, ac, v_prediction=True, min_snr_gamma=gamma).item() == pytest.approx(
        v_weight, rel=1e-5, abs=1e-7
    )


@pytest.mark.parametrize("snr", [0.5, 1.0, 9.0, 2500.0])
def test_debiased_scale_and_v_like_weights(snr):
    ac = ac_for_snr([snr])
    t = torch.tensor([0])
    capped = min(snr, 1000.0)
    assert loss_weights(t, ac, debiased=True).item() == pytest.approx(1 / math.sqrt(capped), rel=1e-5)
    assert loss_weights(t, ac, debiased=True, v_prediction=True).item() == pytest.approx(1 / (capped + 1), rel=1e-5)
    scale = capped / (capped + 1)
    assert loss_weights(t, ac, scale_v_pred_loss_like_noise_pred=True).item() == pytest.approx(scale, rel=1e-5)
    # sd-scripts: loss + loss / scale * v
    assert loss_weights(t, ac, v_pred_like_loss=0.2).item() == pytest.approx(1 + 0.2 / scale, rel=1e-5)


def test_weights_combine_per_image_with_prior_weights():
    ac = ac_for_snr([1.0, 10.0, 100.0])
    t = torch.tensor([0, 1, 2])
    w = loss_weights(t, ac, min_snr_gamma=5.0, sample_weights=prior_weights([False, True, True], 0.5))
    assert torch.allclose(w, torch.tensor([1.0, 0.5 * 0.5, 0.5 * 0.05]))
    assert torch.equal(loss_weights(t, ac), torch.ones(3))


def test_prior_weights():
    assert torch.equal(prior_weights([True, False], 0.3), torch.tensor([0.3, 1.0]))


def test_loss_types_elementwise():
    pred = torch.tensor([[0.0, 1.0, 3.0]]).view(1, 1, 1, 3)
    target = torch.zeros(1, 1, 1, 3)
    assert per_sample_loss(pred, target, "l2").item() == pytest.approx((0 + 1 + 9) / 3)
    assert per_sample_loss(pred, target, "l1").item() == pytest.approx((0 + 1 + 3) / 3)
    c = 0.5
    huber = [2 * c * (math.sqrt(d * d + c * c) - c) for d in (0, 1, 3)]
    smooth = [2 * (math.sqrt(d * d + c * c) - c) for d in (0, 1, 3)]
    assert per_sample_loss(pred, target, "huber", c).item() == pytest.approx(sum(huber) / 3, rel=1e-6)
    assert per_sample_loss(pred, target, "smooth_l1", c).item() == pytest.approx(sum(smooth) / 3, rel=1e-6)
    with pytest.raises(ConfigError):
        per_sample_loss(pred, target, "l3")
    with pytest.raises(ConfigError):
        per_sample_loss(pred, target, "huber")


def _huber64(d: float, c: float) -> float:
    """Pseudo-Huber in float64 in the stable form: the reference both forms must agree with."""
    return 2 * c * d * d / (math.sqrt(d * d + c * c) + c)


def test_huber_limits():
    # Pseudo-Huber ≈ squared error for small differences, ≈ 2c|d| for large ones; each against the exact
    # value at fp32 precision (the old 2c(√(d²+c²) − c) in fp32 was off by ~1e-3 relative at d = 1e-3).
    small, large = torch.full((1, 1, 1, 1), 1e-3), torch.full((1, 1, 1, 1), 100.0)
    zero = torch.zeros(1, 1, 1, 1)
    got_small = per_sample_loss(small, zero, "huber", 0.1).item()
    assert got_small == pytest.approx(_huber64(float(small), 0.1), rel=2e-6)
    assert got_small == pytest.approx(1e-6, rel=1e-4)  # the d² limit
    got_large = per_sample_loss(large, zero, "huber", 0.1).item()
    assert got_large == pytest.approx(_huber64(100.0, 0.1), rel=2e-6)
    assert got_large == pytest.approx(2 * 0.1 * 100 - 2 * 0.1**2, rel=1e-4)  # the 2c|d| − 2c² limit


# dtype, relative tolerance (a few roundings of the dtype's epsilon)
HUBER_DTYPES = [(torch.float32, 2e-6), (torch.bfloat16, 2e-2)]


@pytest.mark.parametrize(("dtype", "rel"), HUBER_DTYPES)
@pytest.mark.parametrize("d", [1e-4, 1e-3, 1e-2, 3.0])
@pytest.mark.parametrize("scale_by_c", [True, False])
def test_pseudo_huber_is_accurate_in_low_precision(dtype, rel, d, scale_by_c):
    """Computed in the dtype itself, the loss keeps its precision where sd-scripts' form cancels."""
    c = 0.1
    diff = torch.full((4,), d, dtype=dtype)
    c_t = torch.tensor(c, dtype=dtype)
    # The reference uses the values the dtype actually holds, so only the arithmetic is measured.
    d_held, c_held = float(diff[0]), float(c_t)
    want = _huber64(d_held, c_held) / (1.0 if scale_by_c else c_held)
    got = pseudo_huber(diff, c_t, scale_by_c=scale_by_c)
    assert got.dtype == dtype
    assert got.float().tolist() == pytest.approx([want] * 4, rel=rel)
    if d <= 1e-3:
        # These d are where the unstable form breaks in this dtype: the test would catch a return to it.
        old = 2 * (torch.sqrt(diff * diff + c_t * c_t) - c_t) * (c_t if scale_by_c else 1)
        assert abs(float(old[0]) - want) > rel * want


def test_huber_c_per_image():
    pred = torch.ones(2, 1, 2, 2)
    target = torch.zeros(2, 1, 2, 2)
    c = torch.tensor([0.1, 1.0])
    loss = per_sample_loss(pred, target, "huber", c)
    assert loss[0].item() == pytest.approx(0.2 * (math.sqrt(1.01) - 0.1), rel=1e-6)
    assert loss[1].item() == pytest.approx(2 * (math.sqrt(2) - 1), rel=1e-6)


def test_huber_schedules(sched):
    t = torch.tensor([0, 500, 1000 - 1])
    const = huber_c_for("constant", 0.1, t, sched.alphas_cumprod, 1000, huber_scale=2.0)
    assert torch.allclose(const, torch.full((3,), 0.2))
    expo = huber_c_for("exponential", 0.1, t, sched.alphas_cumprod, 1000)
    assert torch.allclose(expo, torch.tensor([1.0, 0.1**0.5, 0.1 ** (999 / 1000)]), rtol=1e-5)
    snr = huber_c_for("snr", 0.1, t, sched.alphas_cumprod, 1000)
    ac = sched.alphas_cumprod[t]
    sigma = ((1 - ac) / ac).sqrt()
    assert torch.allclose(snr, 0.9 / (1 + sigma) ** 2 + 0.1, rtol=1e-5)
    assert snr[0] > snr[1] > snr[2] > 0.1  # c falls from ~1 to c as noise grows
    with pytest.raises(ConfigError):
        huber_c_for("cubic", 0.1, t, sched.alphas_cumprod, 1000)


def test_masked_loss_averages_over_the_mask():
    pred = torch.zeros(1, 4, 4, 4)
    pred[..., :, :2] = 2.0  # error 2 on the left half, 0 on the right
    target = torch.zeros(1, 4, 4, 4)
    mask = torch.zeros(1, 32, 32)
    mask[..., :16] = 1.0  # image-size mask: keep the left half
    assert per_sample_loss(pred, target, "l2", mask=mask).item() == pytest.approx(4.0)
    assert per_sample_loss(pred, target, "l2", mask=mask, mask_mean=False).item() == pytest.approx(2.0)
    right = 1.0 - mask
    assert per_sample_loss(pred, target, "l2", mask=right).item() == pytest.approx(0.0)
    assert per_sample_loss(pred, target, "l2").item() == pytest.approx(2.0)


def test_masked_loss_area_resizes_partial_coverage():
    pred = torch.ones(1, 1, 2, 2)
    target = torch.zeros(1, 1, 2, 2)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 0, 0] = 1.0  # a quarter of the top-left latent pixel
    # area resize gives weight 0.25 to the top-left latent pixel only; the masked mean of 1s is 1.
    assert per_sample_loss(pred, target, "l2", mask=mask).item() == pytest.approx(1.0)
    assert per_sample_loss(pred, target, "l2", mask=mask, mask_mean=False).item() == pytest.approx(0.25 / 4)
